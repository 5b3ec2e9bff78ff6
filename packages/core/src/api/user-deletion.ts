/** `DELETE /v1/users/{userId}`: a Segment `delete` call, so the pipeline deletes as it does for Segment. */
import type { RawMessageMeta } from "../ingest/split-batch";
import { primarySourceName } from "../workspace/workspace";

/** A user deletion request as Segment sends it, and where it is queued from. */
export interface UserDeletionRequest {
  call: { type: "delete"; userId: string; messageId: string; timestamp: string };
  meta: RawMessageMeta;
}

/**
 * The Segment `delete` call for a user, from the primary source (its ids are canonical).
 *
 * @example
 * userDeletionRequest("acme", "u1", new Date(), "9b1d…", "req-1").call;
 * // { type: "delete", userId: "u1", messageId: "api-delete-9b1d…", timestamp: "2024-06-01T12:00:00.000Z" }
 */
export function userDeletionRequest(
  workspaceId: string,
  userId: string,
  now: Date,
  uuid: string,
  requestId: string,
): UserDeletionRequest {
  const timestamp = now.toISOString();
  return {
    call: { type: "delete", userId, messageId: `api-delete-${uuid}`, timestamp },
    meta: { workspaceId, source: primarySourceName, receivedAt: timestamp, requestId },
  };
}
