/** Events from track, page and screen (spec 3 "Event" and 3.3 account resolution). */
import { type SegmentCall, segmentId } from "../segment/envelope";
import { readId } from "./membership";
import { callContentHash } from "./message-id";
import type { Problem } from "./problem";
import { type FieldValue, ownValue, typeCustomValues } from "./value";

/** The call types that become events. */
export type EventType = "track" | "page" | "screen";

/**
 * How an event's `account_id` was found: named by the call (`explicit`), still to be looked up from
 * the user's memberships (`pending`), the user's only account (`user_single_account`), or not at
 * all: the user has no account (`none`) or several (`ambiguous`).
 */
export type AccountResolution = "explicit" | "pending" | "user_single_account" | "none" | "ambiguous";

/** An event as stored, in the model's field names. */
export interface NormalizedEvent {
  event_id: string;
  event_name: string;
  type: EventType;
  timestamp: string;
  user_id: string | null;
  anonymous_id: string | null;
  account_id: string | null;
  /** True when the call named no account, so it comes (or came) from the user's memberships. */
  account_from_user: boolean;
  account_resolution: AccountResolution;
  properties: Record<string, FieldValue>;
  received_at: string;
  source: string;
  /**
   * `callContentHash` of the call: tells apart two different calls that share a messageId. Always
   * set by `normalizeEvent`; absent on events stored before it was kept.
   */
  content_hash?: string;
}

/** What an event needs besides the call. */
export interface EventContext {
  eventId: string;
  time: string;
  receivedAt: string;
  source: string;
  /** The call came by the tracking API (see `callContentHash`). */
  tracking?: boolean;
}

const DEFAULT_NAMES = { page: "Loaded a Page", screen: "Loaded a Screen" } as const;

/**
 * Maps a track, page or screen call to its event. Properties are typed per spec 3.4; the
 * `account_id` is the first of `context.groupId`, `context.group_id`, `properties.account_id`,
 * `properties.groupId` and the call's `groupId`, else left `pending` for {@link resolveEventAccount}.
 *
 * @example
 * normalizeEvent({ type: "page", userId: 7, properties: { path: "/" } }, ctx).event.event_name; // "Loaded a Page"
 */
export function normalizeEvent(
  call: SegmentCall & { type: EventType },
  ctx: EventContext,
): { event: NormalizedEvent; problems: Problem[] } {
  const properties = typeCustomValues("property", call.properties ?? {});
  const account = explicitAccount(call);
  const event: NormalizedEvent = {
    event_id: ctx.eventId,
    event_name: eventName(call),
    type: call.type,
    timestamp: ctx.time,
    user_id: segmentId(call.userId) ?? null,
    anonymous_id: segmentId(call.anonymousId) ?? null,
    account_id: account.id ?? null,
    account_from_user: account.id === undefined,
    account_resolution: account.id === undefined ? "pending" : "explicit",
    properties: Object.fromEntries(properties.entries),
    received_at: ctx.receivedAt,
    source: ctx.source,
    content_hash: callContentHash(call as unknown as Record<string, unknown>, { tracking: ctx.tracking }),
  };
  return { event, problems: [...account.problems, ...properties.problems] };
}

function eventName(call: SegmentCall & { type: EventType }): string {
  if (call.type !== "track") return call.name || DEFAULT_NAMES[call.type];
  // The envelope schema requires a track's event name; the fallback only satisfies the type.
  return call.event || "Unnamed Event";
}

function explicitAccount(call: SegmentCall): { id?: string; problems: Problem[] } {
  const problems: Problem[] = [];
  const sources: [unknown, string, boolean][] = [
    [ownValue(call.context, "groupId"), "context.groupId", true],
    [ownValue(call.context, "group_id"), "context.group_id", true],
    // A bad property value is already reported by property typing; do not report it twice.
    [ownValue(call.properties, "account_id"), "properties.account_id", false],
    [ownValue(call.properties, "groupId"), "properties.groupId", false],
    [call.groupId, "groupId", true],
  ];
  for (const [raw, path, report] of sources) {
    const { id, problem } = readId(raw, path);
    if (problem && report) problems.push(problem);
    if (id !== undefined) return { id, problems };
  }
  return { problems };
}

/**
 * Completes an event's account from the user's memberships (spec 3.3): when the call named none and
 * the user belongs to exactly one account, that account; otherwise none, and the event says why.
 * Events that named their account are returned unchanged.
 *
 * @param userAccountIds the accounts of the event's user (after alias resolution); [] if unknown.
 * @example
 * resolveEventAccount(event, ["acc_1"]); // { …event, account_id: "acc_1", account_resolution: "user_single_account" }
 * resolveEventAccount(event, ["a", "b"]); // { …event, account_id: null, account_resolution: "ambiguous" }
 */
export function resolveEventAccount(event: NormalizedEvent, userAccountIds: readonly string[]): NormalizedEvent {
  if (!event.account_from_user) return event;
  const accounts = [...new Set(userAccountIds)];
  if (accounts.length === 1) {
    return { ...event, account_id: accounts[0] ?? null, account_resolution: "user_single_account" };
  }
  return { ...event, account_id: null, account_resolution: accounts.length === 0 ? "none" : "ambiguous" };
}
