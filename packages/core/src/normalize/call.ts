/** One Segment call mapped into the product model (spec 3): the entry point of the normalize rules. */
import { type SegmentCall, type SegmentCallType, segmentId } from "../segment/envelope";
import type { SourceKind } from "../sources/kinds";
import { type EventType, type NormalizedEvent, normalizeEvent } from "./event";
import { eventTime, queueTime } from "./event-time";
import { identifyMemberships, isMembershipTrait, type Membership } from "./membership";
import type { Stamp } from "./merge";
import { callMessageId } from "./message-id";
import type { Problem } from "./problem";
import { type ProfileWrite, profileWrite } from "./profile-write";

/** Where a call came from, as carried by the raw queue message. */
export interface CallMeta {
  workspaceId: string;
  source: string;
  /** When ingest received the request (ISO-8601 with zone). */
  receivedAt: string;
  /**
   * The ordering time fixed at the call's first receipt, when its time depends on the delivery
   * (`fromDelivery`): used instead of the time this delivery would give, so a redelivery orders
   * exactly as the first one did.
   */
  fixedTime?: string;
  /** The ingest route (see `RawQueueMessage.route`): on the tracking API the call's times are ingest's. */
  route?: SourceKind;
}

/** "`from` is this user": an anonymous or previous id linked to a userId (spec 3.5). */
export interface AliasLink {
  from: string;
  to: string;
}

/** A Segment user deletion request. */
export interface Deletion {
  userId: string;
}

/** Everything one call means for the model. Fields a call type does not produce are empty or null. */
export interface NormalizedCall {
  workspaceId: string;
  source: string;
  type: SegmentCallType;
  /** The call's messageId as a string, or `hash-<sha256>` of the call when it had none. */
  messageId: string;
  /** Event time (ISO UTC with ms): the ordering time. */
  time: string;
  /** Whether `time` came from the delivery (receive time or `sentAt`), not the call's own clock. */
  fromDelivery: boolean;
  /** The version of every profile write of this call: compare with `compareStamps`. */
  stamp: Stamp;
  /** When ingest received the call (ISO UTC with ms). */
  receivedAt: string;
  profiles: ProfileWrite[];
  memberships: Membership[];
  event: NormalizedEvent | null;
  aliases: AliasLink[];
  deletion: Deletion | null;
  /** Every value left out, for the rejects store. Non-empty does not mean nothing was stored. */
  problems: Problem[];
  /** Its ids are canonical although its source is not the primary one (a Stripe customer linked by metadata). */
  canonicalIds?: true;
}

/** The parts a call type contributes. */
type Parts = Pick<NormalizedCall, "profiles" | "memberships" | "event" | "aliases" | "deletion" | "problems">;

const NO_PARTS: Parts = { profiles: [], memberships: [], event: null, aliases: [], deletion: null, problems: [] };

/**
 * Maps one Segment call into profile writes, memberships, an event, alias links or a deletion, and
 * lists every problem found. Pure: no I/O, no clock. Numeric ids become strings; `writeKey` is never
 * carried over.
 *
 * @throws ValidationError `time.received_at_invalid` when `meta.receivedAt` is not a zoned time (our bug).
 * @example
 * const n = normalizeCall(
 *   { type: "group", groupId: 42, userId: "u1", traits: { name: "Acme", isTrial: "true" },
 *     timestamp: "2024-05-01T12:00:00Z", messageId: "m1" },
 *   { workspaceId: "w1", source: "product", receivedAt: "2024-05-01T12:00:01.000Z" },
 * );
 * // n.profiles: [{ kind: "account", id: "42", fields: { name: "Acme", is_trial: true } }]
 * // n.memberships: [{ accountId: "42", userId: "u1" }]
 */
export function normalizeCall(call: SegmentCall, meta: CallMeta): NormalizedCall {
  const receivedAt = queueTime(meta.receivedAt);
  const tracking = meta.route === "tracking";
  const picked = eventTime(call, receivedAt, { tracking });
  const time = picked.fromDelivery && meta.fixedTime !== undefined ? meta.fixedTime : picked.time;
  const messageId = callMessageId(call);
  const parts = callParts(call, { eventId: messageId, time, receivedAt, source: meta.source, tracking });
  return {
    workspaceId: meta.workspaceId,
    source: meta.source,
    type: call.type,
    messageId,
    time,
    fromDelivery: picked.fromDelivery,
    stamp: { t: time, m: messageId },
    receivedAt,
    ...parts,
    problems: [...picked.problems, ...parts.problems],
  };
}

function callParts(call: SegmentCall, ctx: Parameters<typeof normalizeEvent>[1]): Parts {
  switch (call.type) {
    case "identify":
      return identifyParts(call);
    case "group":
      return groupParts(call);
    case "track":
    case "page":
    case "screen": {
      const { event, problems } = normalizeEvent(call as SegmentCall & { type: EventType }, ctx);
      return { ...NO_PARTS, event, problems };
    }
    case "alias":
      return { ...NO_PARTS, aliases: aliasLinks(segmentId(call.previousId), segmentId(call.userId)) };
    case "delete": {
      const userId = segmentId(call.userId);
      return { ...NO_PARTS, deletion: userId === undefined ? null : { userId } };
    }
  }
}

function identifyParts(call: SegmentCall): Parts {
  const userId = segmentId(call.userId);
  // Without a userId there is no profile to write: anonymous traits have no key to live under.
  if (userId === undefined) return { ...NO_PARTS, problems: anonymousIdentifyProblems(call) };
  const { write, problems } = profileWrite("user", userId, call.traits ?? {}, isMembershipTrait);
  const membership = identifyMemberships(call, userId);
  return {
    ...NO_PARTS,
    profiles: [write],
    memberships: membership.memberships,
    aliases: aliasLinks(segmentId(call.anonymousId), userId),
    problems: [...problems, ...membership.problems],
  };
}

/**
 * Why an identify without a userId keeps nothing, when it carries traits or an account (issue 16:
 * never drop silently). Only the names: the values would be personal data tied to no user, which a
 * later deletion of the user could not find. The customer sends them again with a userId (or after
 * an alias links the anonymous id).
 */
function anonymousIdentifyProblems(call: SegmentCall): Problem[] {
  const traits = Object.keys(call.traits ?? {});
  const accountIds = identifyMemberships(call, "").memberships.map((m) => m.accountId);
  if (traits.length === 0 && accountIds.length === 0) return [];
  return [
    {
      code: "identify.anonymous",
      field: "traits",
      message:
        "an identify with no userId: its traits and accounts are kept only on a user profile; send them with the userId",
      value: { anonymous_id: segmentId(call.anonymousId) ?? null, traits, account_ids: accountIds },
    },
  ];
}

function groupParts(call: SegmentCall): Parts {
  const accountId = segmentId(call.groupId);
  if (accountId === undefined) return NO_PARTS;
  const { write, problems } = profileWrite("account", accountId, call.traits ?? {});
  const userId = segmentId(call.userId);
  const memberships = userId === undefined ? [] : [{ accountId, userId }];
  return { ...NO_PARTS, profiles: [write], memberships, problems };
}

function aliasLinks(from: string | undefined, to: string | undefined): AliasLink[] {
  return from === undefined || to === undefined || from === to ? [] : [{ from, to }];
}
