import {
  addStripeSource,
  rotateStripeSigningSecret,
  setStripeApiKey,
  setStripeOwnership,
} from "../../../aws/src/dynamo/stripe-sources";
import { defaultStripeSourceName } from "../../../core/src/sources/stripe";
import type { Source } from "../../../core/src/workspace/workspace";
import {
  type CliCommand,
  type CliContext,
  type OptionValues,
  optionalString,
  requiredString,
  UsageError,
} from "../command";
import { formatFields } from "../output";
import { stripeBackfill } from "./stripe-backfill";

/** Stripe sources: add one with its endpoint's signing secret, rotate the secret (retire: `workspaces retire-secret`). */

const options = {
  id: { type: "string" },
  source: { type: "string" },
  "signing-secret": { type: "string" },
} as const;

function stripeWebhookUrl(values: OptionValues, context: CliContext, workspaceId: string, source: string): string {
  const base = (optionalString(values, "base-url") ?? context.env.INGEST_URL ?? "<base>").replace(/\/$/, "");
  const path = `${base}/v1/webhooks/stripe/${encodeURIComponent(workspaceId)}`;
  return source === defaultStripeSourceName ? path : `${path}/${encodeURIComponent(source)}`;
}

/** Never the secrets: how many are active and since when. */
function summary(source: Source) {
  return {
    workspaceId: source.workspaceId,
    source: source.name,
    kind: source.kind,
    accountIdMetadataKey: source.stripe?.accountIdMetadataKey,
    ownsBillingFields: source.stripe?.ownsBillingFields !== false,
    activeSecrets: source.secrets.length,
    secretsCreatedAt: source.secrets.map((s) => s.createdAt),
  };
}

export const addStripe: CliCommand = {
  path: ["stripe", "add-source"],
  summary: "Add a Stripe source to a workspace with its webhook endpoint's signing secret; prints the endpoint URL",
  usage: "--id ID --signing-secret whsec_… [--source stripe] [--account-id-key account_id] [--base-url URL]",
  options: { ...options, "account-id-key": { type: "string" }, "base-url": { type: "string" } },
  async run(values, context) {
    const workspaceId = requiredString(values, "id");
    const sourceName = optionalString(values, "source") ?? defaultStripeSourceName;
    const source = await addStripeSource(await context.workspaces(), {
      workspaceId,
      sourceName,
      signingSecret: requiredString(values, "signing-secret"),
      accountIdMetadataKey: optionalString(values, "account-id-key"),
    });
    const url = stripeWebhookUrl(values, context, workspaceId, sourceName);
    return {
      data: { ...summary(source), webhookUrl: url },
      text: [
        `Added Stripe source ${sourceName} to workspace ${workspaceId}.`,
        "",
        formatFields([
          ["Stripe endpoint URL", url],
          ["Account id metadata key", source.stripe?.accountIdMetadataKey ?? ""],
        ]),
        "",
        "In Stripe's dashboard (Developers → Webhooks), the endpoint with this URL must be the one whose signing",
        "secret you gave; select the events listed in docs/sources/stripe.md.",
      ].join("\n"),
    };
  },
};

export const rotateStripe: CliCommand = {
  path: ["stripe", "rotate-secret"],
  summary: "Add Stripe's new signing secret next to the current one (after rolling it in Stripe)",
  usage: "--id ID --signing-secret whsec_… [--source stripe]",
  options,
  async run(values, context) {
    const workspaceId = requiredString(values, "id");
    const sourceName = optionalString(values, "source") ?? defaultStripeSourceName;
    const source = await rotateStripeSigningSecret(
      await context.workspaces(),
      workspaceId,
      sourceName,
      requiredString(values, "signing-secret"),
    );
    return {
      data: summary(source),
      text: [
        `Stripe source ${workspaceId}/${sourceName} now accepts both signing secrets.`,
        `When Stripe stops signing with the old one, run: workspaces retire-secret --id ${workspaceId} --source ${sourceName}`,
      ].join("\n"),
    };
  },
};

export const stripeOwnership: CliCommand = {
  path: ["stripe", "ownership"],
  summary: "Whether the Stripe source owns the billing fields (on: Segment group traits no longer overwrite them)",
  usage: "--id ID --set on|off [--source stripe]",
  options: { id: { type: "string" }, source: { type: "string" }, set: { type: "string" } },
  async run(values, context) {
    const workspaceId = requiredString(values, "id");
    const sourceName = optionalString(values, "source") ?? defaultStripeSourceName;
    const set = requiredString(values, "set");
    if (set !== "on" && set !== "off") throw new UsageError("--set is on or off");
    const source = await setStripeOwnership(await context.workspaces(), workspaceId, sourceName, set === "on");
    return {
      data: summary(source),
      text: `Stripe source ${workspaceId}/${sourceName} ${set === "on" ? "owns" : "no longer owns"} the billing fields; accounts follow from their next Stripe event.`,
    };
  },
};

export const stripeApiKey: CliCommand = {
  path: ["stripe", "set-api-key"],
  summary:
    "Store the source's restricted API key (from STRIPE_API_KEY, never argv): webhooks then re-fetch the current object",
  usage: "--id ID [--source stripe] [--clear]",
  options: { id: { type: "string" }, source: { type: "string" }, clear: { type: "boolean" } },
  async run(values, context) {
    const workspaceId = requiredString(values, "id");
    const sourceName = optionalString(values, "source") ?? defaultStripeSourceName;
    const clear = values.clear === true;
    const apiKey = clear ? undefined : context.env.STRIPE_API_KEY?.trim();
    if (!clear && !apiKey) throw new UsageError("Set STRIPE_API_KEY to the restricted key (or pass --clear)");
    await setStripeApiKey(await context.workspaces(), workspaceId, sourceName, apiKey);
    return {
      data: { workspaceId, source: sourceName, apiKey: clear ? "cleared" : "set" },
      text: clear
        ? `Stripe source ${workspaceId}/${sourceName} has no API key: webhooks are read as sent (event-time order).`
        : `Stripe source ${workspaceId}/${sourceName} has an API key: each webhook re-fetches the current object.`,
    };
  },
};

export const stripeCommands: readonly CliCommand[] = [
  addStripe,
  rotateStripe,
  stripeOwnership,
  stripeApiKey,
  stripeBackfill,
];
