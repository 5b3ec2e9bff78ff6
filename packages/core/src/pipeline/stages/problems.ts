import type { BatchContext, CallUnit } from "../batch-context";
import { userIdsOf } from "../identity";
import { problemReject } from "../model-store";

/**
 * Records each call's data-quality problems (spec 3.6) as rejects, tied to the call's first user
 * so that deleting the user deletes them too (they may hold its data).
 *
 * @example
 * recordProblems(ctx, units);
 */
export function recordProblems(ctx: BatchContext, units: CallUnit[]): void {
  for (const unit of units) {
    const userId = userIdsOf(unit.call)[0];
    for (const problem of unit.call.problems) ctx.reject(unit, problemReject({ ...unit.call, userId }, problem));
  }
}
