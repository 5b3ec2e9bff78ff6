import type { WorkspaceStore } from "../../../aws/src/dynamo/workspaces";

/**
 * A freshly generated shared secret, active on the source next to the one Segment has now. When two
 * are active already, the older goes first: the newer is the one the last connect or rotation put
 * in Segment, so no secret Segment still signs with is dropped.
 *
 * @example
 * const { secret, retiredOlder } = await freshSecret(workspaces, "acme", "product");
 */
export async function freshSecret(
  workspaces: Pick<WorkspaceStore, "getSource" | "retireSecret" | "rotateSecret">,
  workspaceId: string,
  sourceName: string,
): Promise<{ secret: string; retiredOlder: boolean }> {
  const source = await workspaces.getSource(workspaceId, sourceName);
  const retiredOlder = (source?.secrets.length ?? 0) >= 2;
  if (retiredOlder) await workspaces.retireSecret(workspaceId, sourceName);
  const { secret } = await workspaces.rotateSecret(workspaceId, sourceName);
  return { secret, retiredOlder };
}
