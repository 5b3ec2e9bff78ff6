import type { ModelStore } from "../model-store";
import { recomputeLastSeen } from "./last-seen";

/**
 * Deletes a user or an anonymous id (tombstone first, then everything of it, `eventIds` included
 * however they were found), and recomputes the last seen of the accounts whose events went with it.
 *
 * @example
 * await forget(store, "w1", { userId: "u1" }, now());
 */
export async function forget(
  store: ModelStore,
  ws: string,
  who: { userId: string } | { anonymousId: string },
  deletedAt: string,
  eventIds: string[] = [],
): Promise<void> {
  const known = { eventIds };
  const { accountsWithEvents } =
    "userId" in who
      ? await store.deleteUser(ws, who.userId, deletedAt, known)
      : await store.deleteAnonymousId(ws, who.anonymousId, deletedAt, known);
  await recomputeLastSeen(store, ws, "account", accountsWithEvents);
}
