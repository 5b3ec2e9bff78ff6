import { ValidationError } from "../errors";

/** The primary source every workspace starts with; ids from it are canonical (spec 3.5). */
export const primarySourceName = "product";

/** Segment lets a destination hold one shared secret; two may be active here so it can be rotated. */
export const maxActiveSecrets = 2;

/** A customer of the product. */
export interface Workspace {
  id: string;
  name: string;
  /** ISO-8601 UTC. */
  createdAt: string;
}

/** A Segment webhook shared secret. Kept as is: verifying an HMAC needs the key itself. */
export interface SharedSecret {
  value: string;
  createdAt: string;
}

/** Where data comes from inside a workspace (`product`, or another Segment source), with its credentials. */
export interface Source {
  workspaceId: string;
  name: string;
  /** Active shared secrets, oldest first; one or two. */
  secrets: SharedSecret[];
  /** SHA-256 (hex) of the tracking API write key. */
  writeKeyHash: string;
  /** SHA-256 (hex) of the webhook bearer token, when the source requires one. */
  bearerTokenHash?: string;
  /**
   * What sends to it: a Segment source when absent; `stripe` for a Stripe account's webhook, whose
   * `secrets` are Stripe's endpoint signing secrets (`whsec_…`) and which has no write key.
   */
  kind?: "stripe";
  /**
   * A Stripe source's settings: the metadata key that names the product's account id, and whether
   * it owns the billing fields (absent: it does), so Segment `group` traits do not overwrite them.
   */
  stripe?: {
    accountIdMetadataKey: string;
    ownsBillingFields?: boolean /** A restricted key: webhooks re-fetch the current object. Never shown. */;
    apiKey?: string;
  };
  createdAt: string;
}

/** A workspace and source, as a write key points at them. */
export interface SourceRef {
  workspaceId: string;
  source: string;
}

/**
 * The source with a new shared secret added next to the current one. Refused when two are already
 * active: retire the old one first, so no secret Segment still uses is dropped silently.
 *
 * @example
 * const rotated = withRotatedSecret(source, { value: generateCredential(), createdAt: now });
 */
export function withRotatedSecret(source: Source, secret: SharedSecret): Source {
  if (source.secrets.length >= maxActiveSecrets) {
    throw new ValidationError(
      "secret.rotation_pending",
      `Source ${source.name} already has ${maxActiveSecrets} active secrets: retire the old one first`,
    );
  }
  return { ...source, secrets: [...source.secrets, secret] };
}

/**
 * The source without its oldest shared secret. Refused when only one is active: a source always
 * keeps a secret, or no webhook could be verified.
 *
 * @example
 * const retired = withRetiredSecret(rotated); // only the new secret is valid now
 */
export function withRetiredSecret(source: Source): Source {
  if (source.secrets.length < 2) {
    throw new ValidationError(
      "secret.nothing_to_retire",
      `Source ${source.name} has one active secret: rotate first, then retire the old one`,
    );
  }
  return { ...source, secrets: source.secrets.slice(1) };
}

/**
 * The source without the secret of this value, when another stays active (a rotation undone: the
 * secret was never handed to the sender). Unchanged when no active secret has this value.
 */
export function withoutSecret(source: Source, value: string): Source {
  const secrets = source.secrets.filter((s) => s.value !== value);
  if (secrets.length === source.secrets.length) return source;
  if (secrets.length === 0) return withRetiredSecret(source);
  return { ...source, secrets };
}
