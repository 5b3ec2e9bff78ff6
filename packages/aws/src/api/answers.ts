/** The API's answers built from what storage holds (spec 3 shapes, without storage bookkeeping). */
import type { Event, PendingCall } from "../../../core/src/api/schemas";
import type { StoredEvent } from "../../../core/src/pipeline/model-store";
import type { StoredPending } from "../dynamo/identity-store";

/** The event as the API shows it (spec 3 "Event"), without storage bookkeeping. */
export function eventOf(stored: StoredEvent): Event {
  return {
    workspace_id: stored.workspace_id,
    event_id: stored.event_id,
    event_name: stored.event_name,
    type: stored.type,
    timestamp: stored.timestamp,
    user_id: stored.user_id,
    anonymous_id: stored.anonymous_id,
    account_id: stored.account_id,
    account_resolution: stored.account_resolution,
    properties: stored.properties,
    received_at: stored.received_at,
    source: stored.source,
  };
}

export function pendingOf(pending: StoredPending): PendingCall {
  return {
    source: pending.source,
    message_id: pending.messageId,
    time: pending.time,
    held_at: pending.heldAt,
    received_at: pending.receivedAt,
    missing: pending.missing.map((m) => ({ source: m.source, kind: m.kind, external_id: m.externalId })),
    call: pending.call,
  };
}
