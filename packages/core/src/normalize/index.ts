/** Normalize: the pure rules that map Segment calls into accounts, users, memberships and events. */

export { ACCOUNT_FIELDS, type AccountFieldName } from "../model/account";
export type { KnownField, KnownFieldType } from "../model/field";
export { USER_FIELDS, type UserFieldName } from "../model/user";
export { faviconUrl, initialsAvatar } from "./avatar";
export { type AliasLink, type CallMeta, type Deletion, type NormalizedCall, normalizeCall } from "./call";
export {
  type AccountResolution,
  type EventContext,
  type EventType,
  type NormalizedEvent,
  normalizeEvent,
  resolveEventAccount,
} from "./event";
export { eventTime, queueTime } from "./event-time";
export { type Account, type Bucket, materializeAccount, materializeUser, type User } from "./materialize";
export { identifyMemberships, type Membership, readId } from "./membership";
export {
  compareStamps,
  type FieldVersion,
  type MergeResult,
  mergeFields,
  type Stamp,
  type VersionedFields,
} from "./merge";
export { callContentHash, callMessageId, canonicalJson } from "./message-id";
export type { Problem, ProblemCode, ValueOrigin } from "./problem";
export type { ProfileKind } from "./profile-fields";
export { type ProfileWrite, profileWrite } from "./profile-write";
export { readTime, type TimeReading, toUtcTime } from "./time";
export {
  type FieldValue,
  MAX_CUSTOM_TRAITS,
  MAX_STRING_BYTES,
  type Typed,
  typeCustomValue,
  typeCustomValues,
  type Value,
} from "./value";
