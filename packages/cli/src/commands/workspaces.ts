import { primarySourceName, type Source } from "../../../core/src/workspace/workspace";
import { type CliCommand, type CliContext, type OptionValues, optionalString, requiredString } from "../command";
import { formatFields, formatTable } from "../output";

/** Workspace administration: create, list, and rotate a source's credentials. */

const sourceOption = { source: { type: "string" } } as const;

/** Where the ingest API is reached; a placeholder when unknown. */
function baseUrl(values: OptionValues, context: CliContext): string {
  return (optionalString(values, "base-url") ?? context.env.INGEST_URL ?? "<base>").replace(/\/$/, "");
}

function webhookUrl(base: string, workspaceId: string, source: string): string {
  const path = `${base}/v1/webhooks/segment/${encodeURIComponent(workspaceId)}`;
  return source === primarySourceName ? path : `${path}/${encodeURIComponent(source)}`;
}

const shownOnce = "These credentials are shown once: store them now (only their use can be checked later).";

/** Public view of a source: never secret values or hashes. */
function sourceSummary(source: Source) {
  return {
    workspaceId: source.workspaceId,
    source: source.name,
    activeSecrets: source.secrets.length,
    secretsCreatedAt: source.secrets.map((s) => s.createdAt),
    bearerTokenRequired: source.bearerTokenHash !== undefined,
  };
}

export const createWorkspace: CliCommand = {
  path: ["workspaces", "create"],
  summary: "Create a workspace with its primary source `product`; prints the webhook URL, shared secret and write key",
  usage: "--id ID [--name NAME] [--base-url URL]",
  options: { id: { type: "string" }, name: { type: "string" }, "base-url": { type: "string" } },
  async run(values, context) {
    const input = { id: requiredString(values, "id"), name: optionalString(values, "name") };
    const store = await context.workspaces();
    const created = await store.createWorkspace(input);
    const base = baseUrl(values, context);
    const url = webhookUrl(base, created.workspace.id, primarySourceName);
    return {
      data: {
        workspace: created.workspace,
        source: primarySourceName,
        webhookUrl: url,
        trackingApiHost: base,
        sharedSecret: created.sharedSecret,
        writeKey: created.writeKey,
      },
      text: [
        `Created workspace ${created.workspace.id} (${created.workspace.name}) with source ${primarySourceName}.`,
        "",
        formatFields([
          ["Segment webhook URL", url],
          ["Shared secret", created.sharedSecret],
          ["Tracking API host", base],
          ["Write key", created.writeKey],
        ]),
        "",
        shownOnce,
        "In Segment, add a Webhook destination with this URL and shared secret. To use the tracking API,",
        "point a Segment library's host at the tracking API host and give it the write key.",
      ].join("\n"),
    };
  },
};

export const addSource: CliCommand = {
  path: ["workspaces", "add-source"],
  summary: "Add another source to a workspace; prints its webhook URL, shared secret and write key",
  usage: "--id ID --source NAME [--base-url URL]",
  options: { id: { type: "string" }, ...sourceOption, "base-url": { type: "string" } },
  async run(values, context) {
    const id = requiredString(values, "id");
    const sourceName = requiredString(values, "source");
    const store = await context.workspaces();
    const created = await store.addSource(id, sourceName);
    const url = webhookUrl(baseUrl(values, context), id, created.source.name);
    return {
      data: {
        ...sourceSummary(created.source),
        webhookUrl: url,
        sharedSecret: created.sharedSecret,
        writeKey: created.writeKey,
      },
      text: [
        `Added source ${created.source.name} to workspace ${id}.`,
        "",
        formatFields([
          ["Segment webhook URL", url],
          ["Shared secret", created.sharedSecret],
          ["Write key", created.writeKey],
        ]),
        "",
        shownOnce,
      ].join("\n"),
    };
  },
};

export const rotateSecret: CliCommand = {
  path: ["workspaces", "rotate-secret"],
  summary: "Add a new Segment shared secret to a source; the old one stays valid until retired",
  usage: "--id ID [--source product]",
  options: { id: { type: "string" }, ...sourceOption },
  async run(values, context) {
    const id = requiredString(values, "id");
    const sourceName = optionalString(values, "source") ?? primarySourceName;
    const store = await context.workspaces();
    const { secret, source } = await store.rotateSecret(id, sourceName);
    return {
      data: { ...sourceSummary(source), sharedSecret: secret },
      text: [
        `New shared secret for ${id}/${sourceName}: ${secret}`,
        "",
        "Both the old and the new secret are accepted now. Put the new one in Segment's webhook settings,",
        `then run: workspaces retire-secret --id ${id}${sourceName === primarySourceName ? "" : ` --source ${sourceName}`}`,
        "(Running ingest functions pick up changes within their credential cache time, 30 s by default.)",
      ].join("\n"),
    };
  },
};

export const retireSecret: CliCommand = {
  path: ["workspaces", "retire-secret"],
  summary: "Remove the older of a source's two shared secrets",
  usage: "--id ID [--source product]",
  options: { id: { type: "string" }, ...sourceOption },
  async run(values, context) {
    const id = requiredString(values, "id");
    const sourceName = optionalString(values, "source") ?? primarySourceName;
    const store = await context.workspaces();
    const source = await store.retireSecret(id, sourceName);
    return {
      data: sourceSummary(source),
      text: `Retired the old shared secret of ${id}/${sourceName}; only the newest one is accepted now.`,
    };
  },
};

export const bearerToken: CliCommand = {
  path: ["workspaces", "bearer-token"],
  summary: "Require an Authorization: Bearer token on a source's webhook (prints it), or stop requiring it",
  usage: "--id ID [--source product] [--clear]",
  options: { id: { type: "string" }, ...sourceOption, clear: { type: "boolean" } },
  async run(values, context) {
    const id = requiredString(values, "id");
    const sourceName = optionalString(values, "source") ?? primarySourceName;
    const store = await context.workspaces();
    if (values.clear === true) {
      const source = await store.clearBearerToken(id, sourceName);
      return {
        data: sourceSummary(source),
        text: `The webhook of ${id}/${sourceName} no longer requires a bearer token.`,
      };
    }
    const { token, source } = await store.issueBearerToken(id, sourceName);
    return {
      data: { ...sourceSummary(source), bearerToken: token },
      text: [
        `Bearer token for ${id}/${sourceName}: ${token}`,
        "",
        "In Segment's webhook settings, add the header `Authorization: Bearer <token>`.",
        shownOnce,
      ].join("\n"),
    };
  },
};

export const listWorkspaces: CliCommand = {
  path: ["workspaces", "list"],
  summary: "List every workspace",
  usage: "",
  options: {},
  async run(_values, context) {
    const store = await context.workspaces();
    const workspaces = await store.listWorkspaces();
    return {
      data: workspaces,
      text:
        workspaces.length === 0
          ? "No workspaces yet. Create one with: workspaces create --id ID"
          : formatTable(workspaces, [
              { header: "ID", value: (w) => w.id },
              { header: "NAME", value: (w) => w.name },
              { header: "CREATED", value: (w) => w.createdAt },
            ]),
    };
  },
};

export const workspaceCommands: readonly CliCommand[] = [
  createWorkspace,
  listWorkspaces,
  addSource,
  rotateSecret,
  retireSecret,
  bearerToken,
];
