import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { NotFoundError, ValidationError } from "../../../core/src/errors";
import { defaultAccountIdMetadataKey } from "../../../core/src/sources/stripe";
import type { Source } from "../../../core/src/workspace/workspace";
import { keys, sourceNamePattern } from "./keys";
import { ifCondition } from "./table-ops";
import { sourceItemOf } from "./workspace-items";
import type { WorkspaceStore } from "./workspaces";

/**
 * Stripe sources in the Entities table: the same source item as a Segment source
 * (`WS#<id> / SOURCE#<name>`, see workspaces.ts) with `kind: "stripe"`, Stripe's endpoint signing
 * secrets in `secrets` (one or two, rotated and retired like Segment's shared secrets) and its
 * settings; no write key (nothing may reach it through the tracking API) and no bearer token.
 */

/** Stripe's endpoint signing secrets start so; anything else is a paste error. */
const signingSecretPattern = /^whsec_[A-Za-z0-9+/=_-]{8,}$/;
const metadataKeyPattern = /^[A-Za-z0-9_.-]{1,40}$/;

/** Refuses what cannot be a Stripe endpoint signing secret, without echoing it. */
export function checkSigningSecret(secret: string): void {
  if (!signingSecretPattern.test(secret)) {
    throw new ValidationError("credential.invalid", "A Stripe signing secret is the endpoint's whsec_… value");
  }
}

/**
 * Adds a Stripe source to a workspace with the endpoint's signing secret. Throws `source.exists`
 * when the name is taken (by a Segment source too).
 *
 * @example
 * await addStripeSource(workspaces, { workspaceId: "acme", sourceName: "stripe", signingSecret: "whsec_…" });
 */
export async function addStripeSource(
  workspaces: WorkspaceStore,
  input: {
    workspaceId: string;
    sourceName: string;
    signingSecret: string;
    accountIdMetadataKey?: string;
    /** Default true: Segment `group` traits no longer overwrite the billing fields. */
    ownsBillingFields?: boolean;
    now?: Date;
  },
): Promise<Source> {
  if (!sourceNamePattern.test(input.sourceName)) {
    throw new ValidationError(
      "source.name_invalid",
      "A source name is 1-64 lowercase letters, digits, dashes and underscores",
    );
  }
  checkSigningSecret(input.signingSecret);
  const metadataKey = input.accountIdMetadataKey ?? defaultAccountIdMetadataKey;
  if (!metadataKeyPattern.test(metadataKey)) {
    throw new ValidationError("source.setting_invalid", "A metadata key is 1-40 letters, digits, `_`, `.` or `-`");
  }
  if (!(await workspaces.getWorkspace(input.workspaceId))) {
    throw new NotFoundError("workspace.not_found", `No workspace ${input.workspaceId}`);
  }
  const createdAt = (input.now ?? new Date()).toISOString();
  const source: Source = {
    workspaceId: input.workspaceId,
    name: input.sourceName,
    kind: "stripe",
    secrets: [{ value: input.signingSecret, createdAt }],
    writeKeyHash: "",
    stripe: { accountIdMetadataKey: metadataKey, ownsBillingFields: input.ownsBillingFields ?? true },
    createdAt,
  };
  const created = await ifCondition("stripe source create", () =>
    workspaces.db.send(
      new PutCommand({
        TableName: workspaces.tableName,
        Item: sourceItemOf(source, 1),
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    ),
  );
  if (!created) {
    throw new ValidationError("source.exists", `Source ${input.sourceName} already exists in ${input.workspaceId}`);
  }
  return source;
}

/**
 * Adds Stripe's new signing secret next to the current one (Stripe's "roll secret" keeps the old
 * one valid for a while); retire the old one with `WorkspaceStore.retireSecret` once Stripe stops
 * signing with it.
 */
export async function rotateStripeSigningSecret(
  workspaces: WorkspaceStore,
  workspaceId: string,
  sourceName: string,
  signingSecret: string,
): Promise<Source> {
  checkSigningSecret(signingSecret);
  const current = await workspaces.getSource(workspaceId, sourceName);
  if (current?.kind !== "stripe") {
    throw new NotFoundError("source.not_found", `No Stripe source ${sourceName} in workspace ${workspaceId}`);
  }
  return (await workspaces.rotateSecret(workspaceId, sourceName, signingSecret)).source;
}

/**
 * Turns the source's ownership of the billing fields on or off. It travels with each event the
 * source queues, so an account follows the new setting from its next Stripe event on.
 */
export async function setStripeOwnership(
  workspaces: WorkspaceStore,
  workspaceId: string,
  sourceName: string,
  ownsBillingFields: boolean,
): Promise<Source> {
  const current = await workspaces.getSource(workspaceId, sourceName);
  if (current?.kind !== "stripe" || !current.stripe) {
    throw new NotFoundError("source.not_found", `No Stripe source ${sourceName} in workspace ${workspaceId}`);
  }
  const next: Source = { ...current, stripe: { ...current.stripe, ownsBillingFields } };
  // One attribute, atomically: a rotation at the same time keeps its secrets.
  const updated = await ifCondition("stripe source ownership", () =>
    workspaces.db.send(
      new UpdateCommand({
        TableName: workspaces.tableName,
        Key: keys.source(workspaceId, sourceName),
        UpdateExpression: "SET #stripe.#owns = :owns, #version = #version + :one",
        ConditionExpression: "#kind = :stripe",
        ExpressionAttributeNames: {
          "#stripe": "stripe",
          "#owns": "ownsBillingFields",
          "#version": "version",
          "#kind": "kind",
        },
        ExpressionAttributeValues: { ":owns": ownsBillingFields, ":one": 1, ":stripe": "stripe" },
      }),
    ),
  );
  if (!updated) {
    throw new NotFoundError("source.not_found", `No Stripe source ${sourceName} in workspace ${workspaceId}`);
  }
  return next;
}

/** Stripe's secret and restricted keys start so; anything else is a paste error. */
const apiKeyPattern = /^(rk|sk)_(test|live)_[A-Za-z0-9]{8,}$/;

/**
 * Stores (or, with `undefined`, removes) the source's restricted API key: with it, each customer
 * or subscription webhook re-fetches the current object. Kept in the source item beside the signing
 * secrets; never returned by the CLI or the API.
 */
export async function setStripeApiKey(
  workspaces: WorkspaceStore,
  workspaceId: string,
  sourceName: string,
  apiKey: string | undefined,
): Promise<void> {
  if (apiKey !== undefined && !apiKeyPattern.test(apiKey)) {
    throw new ValidationError("credential.invalid", "A Stripe API key is an rk_… (restricted) or sk_… value");
  }
  const updated = await ifCondition("stripe source api key", () =>
    workspaces.db.send(
      new UpdateCommand({
        TableName: workspaces.tableName,
        Key: keys.source(workspaceId, sourceName),
        UpdateExpression:
          apiKey === undefined
            ? "REMOVE #stripe.#key SET #version = #version + :one"
            : "SET #stripe.#key = :key, #version = #version + :one",
        ConditionExpression: "#kind = :stripe",
        ExpressionAttributeNames: { "#stripe": "stripe", "#key": "apiKey", "#version": "version", "#kind": "kind" },
        ExpressionAttributeValues: {
          ":one": 1,
          ":stripe": "stripe",
          ...(apiKey === undefined ? {} : { ":key": apiKey }),
        },
      }),
    ),
  );
  if (!updated) {
    throw new NotFoundError("source.not_found", `No Stripe source ${sourceName} in workspace ${workspaceId}`);
  }
}
