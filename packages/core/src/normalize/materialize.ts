/**
 * Stored, versioned profile fields turned into the API's account and user (spec 3 tables), with the
 * derived fields. Pure and deterministic: no clock, keys in a fixed order.
 */

import { withStripeBilling } from "../sources/stripe/derive";
import { faviconUrl, initialsAvatar } from "./avatar";
import type { VersionedFields } from "./merge";
import { CUSTOM_TRAIT_PREFIX } from "./profile-fields";
import type { FieldValue, Value } from "./value";

/** The account's commercial state: `churned` if is_churned, else `trial` if is_trial, else `subscribed`. */
export type Bucket = "churned" | "trial" | "subscribed";

/** An account as the API shows it. Times are ISO UTC strings. */
export interface Account {
  workspace_id: string;
  account_id: string;
  name: string | null;
  company_bio: string | null;
  website: string | null;
  industry: string | null;
  /** Sent, else derived from the website's favicon, else a generated initials image. */
  avatar_url: string;
  avatar_url_derived: boolean;
  mrr: number | null;
  created_at: string | null;
  trial_start_date: string | null;
  trial_expiry_date: string | null;
  is_trial: boolean | null;
  is_churned: boolean | null;
  next_renewal_date: string | null;
  plan_name: string | null;
  bucket: Bucket;
  traits: Record<string, Value>;
  missing_required: string[];
  missing_recommended: string[];
}

/** A user as the API shows it. */
export interface User {
  workspace_id: string;
  user_id: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  created_at: string | null;
  /** `name` as sent, else first and last name joined. */
  name: string | null;
  avatar: string | null;
  title: string | null;
  username: string | null;
  description: string | null;
  key_user: boolean | null;
  linkedin_url: string | null;
  is_active: boolean | null;
  status: "active" | "inactive";
  traits: Record<string, Value>;
  missing_required: string[];
  missing_recommended: string[];
}

/**
 * The API account from its stored fields.
 *
 * @example
 * materializeAccount("w1", "acc_1", { name: { v: "Acme", t: "2024-05-01T00:00:00.000Z", m: "m1" } });
 * // { account_id: "acc_1", name: "Acme", bucket: "subscribed", avatar_url: "data:image/svg+xml,…",
 * //   avatar_url_derived: true, missing_required: [], … }
 */
export function materializeAccount(workspaceId: string, accountId: string, stored: VersionedFields): Account {
  // Billing fields derived from the Stripe source's snapshots, last-write-wins with the stored ones.
  const fields = withStripeBilling(stored);
  const read = reader(fields);
  const name = read.string("name");
  const website = read.string("website");
  // A blank avatar_url is no avatar: derive one rather than show an empty image.
  const sentAvatar = nonBlank(read.string("avatar_url"));
  const isTrial = read.boolean("is_trial");
  const isChurned = read.boolean("is_churned");
  const bucket: Bucket = isChurned === true ? "churned" : isTrial === true ? "trial" : "subscribed";
  const account: Omit<Account, "missing_required" | "missing_recommended"> = {
    workspace_id: workspaceId,
    account_id: accountId,
    name,
    company_bio: read.string("company_bio"),
    website,
    industry: read.string("industry"),
    avatar_url: sentAvatar ?? derivedAvatar(name, website, accountId),
    avatar_url_derived: sentAvatar === null,
    mrr: read.number("mrr"),
    created_at: read.string("created_at"),
    trial_start_date: read.string("trial_start_date"),
    trial_expiry_date: read.string("trial_expiry_date"),
    is_trial: isTrial,
    is_churned: isChurned,
    next_renewal_date: read.string("next_renewal_date"),
    plan_name: read.string("plan_name"),
    bucket,
    traits: customTraits(fields),
  };
  const recommended = bucket === "trial" ? (["trial_start_date", "trial_expiry_date"] as const) : [];
  return {
    ...account,
    missing_required: missing(account, ["name"]),
    missing_recommended: missing(account, recommended),
  };
}

/**
 * The API user from its stored fields.
 *
 * @example
 * materializeUser("w1", "u1", { first_name: { v: "Ada", t: "2024-05-01T00:00:00.000Z", m: "m1" } });
 * // { user_id: "u1", first_name: "Ada", name: "Ada", status: "active",
 * //   missing_required: ["last_name", "created_at"], missing_recommended: ["email"], … }
 */
export function materializeUser(workspaceId: string, userId: string, fields: VersionedFields): User {
  const read = reader(fields);
  const firstName = read.string("first_name");
  const lastName = read.string("last_name");
  const isActive = read.boolean("is_active");
  const user: Omit<User, "missing_required" | "missing_recommended"> = {
    workspace_id: workspaceId,
    user_id: userId,
    first_name: firstName,
    last_name: lastName,
    email: read.string("email"),
    created_at: read.string("created_at"),
    name: read.string("name") ?? joinName(firstName, lastName),
    avatar: read.string("avatar"),
    title: read.string("title"),
    username: read.string("username"),
    description: read.string("description"),
    key_user: read.boolean("key_user"),
    linkedin_url: read.string("linkedin_url"),
    is_active: isActive,
    status: isActive === false ? "inactive" : "active",
    traits: customTraits(fields),
  };
  return {
    ...user,
    missing_required: missing(user, ["first_name", "last_name", "created_at"]),
    missing_recommended: missing(user, ["email"]),
  };
}

// Stored values were typed on write; a value of the wrong type (an older rule, a hand edit) reads as
// absent rather than breaking the API's types.
function reader(fields: VersionedFields) {
  const value = (name: string): FieldValue => (Object.hasOwn(fields, name) ? (fields[name]?.v ?? null) : null);
  return {
    string: (name: string) => {
      const v = value(name);
      return typeof v === "string" ? v : null;
    },
    number: (name: string) => {
      const v = value(name);
      return typeof v === "number" ? v : null;
    },
    boolean: (name: string) => {
      const v = value(name);
      return typeof v === "boolean" ? v : null;
    },
  };
}

function customTraits(fields: VersionedFields): Record<string, Value> {
  const entries: [string, Value][] = [];
  for (const [name, { v }] of Object.entries(fields)) {
    if (name.startsWith(CUSTOM_TRAIT_PREFIX) && v !== null) entries.push([name.slice(CUSTOM_TRAIT_PREFIX.length), v]);
  }
  // Sorted so the same state always serialises the same way, whatever order writes arrived in.
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}

function derivedAvatar(name: string | null, website: string | null, accountId: string): string {
  return (website === null ? undefined : faviconUrl(website)) ?? initialsAvatar(name ?? accountId, accountId);
}

function nonBlank(text: string | null): string | null {
  return text === null || text.trim() === "" ? null : text;
}

function joinName(first: string | null, last: string | null): string | null {
  const joined = [first, last].filter((part) => part !== null && part.trim() !== "").join(" ");
  return joined === "" ? null : joined;
}

// A blank string is as good as absent for a field the product relies on.
function missing<T extends object>(profile: T, names: readonly (keyof T & string)[]): string[] {
  return names.filter((name) => {
    const v = profile[name];
    return v === null || (typeof v === "string" && v.trim() === "");
  });
}
