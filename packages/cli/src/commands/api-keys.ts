import { type CliCommand, optionalString, requiredString } from "../command";
import { formatFields, formatTable } from "../output";

/** Workspace API keys for the read and admin API: issue (shown once), list, revoke. */

export const createApiKey: CliCommand = {
  path: ["workspaces", "create-api-key"],
  summary: "Issue an API key for the read and admin API of a workspace; prints it once",
  usage: "--id ID [--name NAME]",
  options: { id: { type: "string" }, name: { type: "string" } },
  async run(values, context) {
    const id = requiredString(values, "id");
    const name = optionalString(values, "name");
    const store = await context.apiKeys();
    const { keyId, apiKey } = await store.issueApiKey(id, name === undefined ? {} : { name });
    return {
      data: { workspaceId: id, keyId, name: name ?? keyId, apiKey },
      text: [
        `Issued API key ${keyId} for workspace ${id}.`,
        "",
        formatFields([
          ["API key", apiKey],
          ["Key id", keyId],
        ]),
        "",
        "The key is shown once: store it now (only its hash is kept). Send it as `Authorization: Bearer <key>`,",
        "or give it to the CLI with --api-key or SEGMENT_INGEST_API_KEY.",
        `Revoke it with: workspaces revoke-api-key --id ${id} --key-id ${keyId}`,
      ].join("\n"),
    };
  },
};

export const revokeApiKey: CliCommand = {
  path: ["workspaces", "revoke-api-key"],
  summary: "Revoke an API key of a workspace",
  usage: "--id ID --key-id KEY_ID",
  options: { id: { type: "string" }, "key-id": { type: "string" } },
  async run(values, context) {
    const id = requiredString(values, "id");
    const keyId = requiredString(values, "key-id");
    await (await context.apiKeys()).revokeApiKey(id, keyId);
    return {
      data: { workspaceId: id, keyId, revoked: true },
      text: `Revoked API key ${keyId} of workspace ${id}. (Running API functions stop accepting it within their credential cache time, 30 s by default.)`,
    };
  },
};

export const listApiKeys: CliCommand = {
  path: ["workspaces", "list-api-keys"],
  summary: "List the API keys of a workspace (ids, names and hints; never the keys)",
  usage: "--id ID",
  options: { id: { type: "string" } },
  async run(values, context) {
    const id = requiredString(values, "id");
    const keys = await (await context.apiKeys()).listApiKeys(id);
    return {
      data: keys,
      text:
        keys.length === 0
          ? `Workspace ${id} has no API keys. Issue one with: workspaces create-api-key --id ${id}`
          : formatTable(keys, [
              { header: "KEY ID", value: (k) => k.keyId },
              { header: "NAME", value: (k) => k.name },
              { header: "KEY", value: (k) => k.hint },
              { header: "CREATED", value: (k) => k.createdAt },
            ]),
    };
  },
};

export const apiKeyCommands: readonly CliCommand[] = [createApiKey, listApiKeys, revokeApiKey];
