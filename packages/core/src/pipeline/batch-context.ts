/**
 * The state of one normalize batch in one place, as Powertools Batch's `BasePartialProcessor`
 * keeps a batch's successes and failures: the records, the records to send back to SQS, the
 * rejects, the calls set aside to run alone, the counters, and the guard every storage step runs
 * under. Stages (./stages/*) read and add to it instead of threading these through parameters.
 */
import pLimit from "p-limit";
import { IngestError } from "../errors";
import type { NormalizedCall } from "../normalize/call";
import type { CallOrigin, SuspectCall } from "./call-isolation";
import type { ModelStore, RejectRecord } from "./model-store";

/** One SQS record as the pipeline sees it. */
export interface QueueRecord {
  /** The SQS messageId: what a partial batch failure names. */
  id: string;
  body: string;
}

/** Counts for the batch's log line and metrics. */
export interface BatchStats {
  records: number;
  calls: number;
  /** Calls held until entity maps of their ids arrive. */
  pending: number;
  deletedUsers: number;
  /** Calls about deleted users, recorded as `user.deleted` rejects. */
  refusedForDeletedUsers: number;
  eventsStored: number;
  duplicates: number;
  profilesWritten: number;
  membershipsAdded: number;
  eventsReattributed: number;
  rejects: number;
  failedRecords: number;
}

/** Settings of the pipeline that come from configuration. */
export interface NormalizeSettings {
  /** Days a call waits for its entity maps before it expires as a reject. */
  pendingRetentionDays: number;
}

/** One call of the batch on its way through the stages. */
export interface CallUnit {
  recordId: string;
  /** The call's index in its record, and the record's message less its calls (to run it alone). */
  index: number;
  origin: CallOrigin;
  call: NormalizedCall;
  /** The call as received, for holding it as pending. */
  raw: Record<string, unknown>;
}

/**
 * A reject of the batch: the record that goes back if it cannot be written, and the call it is
 * about ({@link callKey}). A call set aside to run alone writes its own rejects again in that run,
 * so only those are left out of the batch's, never another call's that shares its record.
 */
export interface BatchReject {
  recordId: string;
  call: string;
  reject: RejectRecord;
}

/** A call's identity in the batch: its record and its place in it (no index: the whole record). */
export function callKey(recordId: string, index?: number): string {
  return index === undefined ? recordId : `${recordId}\u0000${index}`;
}

/** The {@link callKey} of a unit. */
export function unitKey(unit: Pick<CallUnit, "recordId" | "index">): string {
  return callKey(unit.recordId, unit.index);
}

/** Concurrent storage requests per batch. */
export const CONCURRENCY = 8;

/** Runs `work` over items with at most `limit` in flight. */
export async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  const run = pLimit(Math.max(1, limit));
  await Promise.all(items.map((item) => run(() => work(item))));
}

/** Groups units by workspace, in first-seen order. */
export function groupByWorkspace(list: CallUnit[]): Map<string, CallUnit[]> {
  const groups = new Map<string, CallUnit[]>();
  for (const item of list) {
    const group = groups.get(item.call.workspaceId);
    if (group) group.push(item);
    else groups.set(item.call.workspaceId, [item]);
  }
  return groups;
}

function isRetryable(error: unknown): boolean {
  return !(error instanceof IngestError) || error.retryable;
}

export class BatchContext {
  /** SQS record ids to deliver again. */
  readonly failed = new Set<string>();
  readonly rejects: BatchReject[] = [];
  /** Calls that shared a step a permanent error stopped: run again alone at the end (call-isolation.ts). */
  readonly suspects = new Map<string, SuspectCall>();
  readonly stats: BatchStats;

  constructor(
    readonly records: QueueRecord[],
    readonly store: ModelStore,
    readonly now: () => string,
    readonly settings: NormalizeSettings = { pendingRetentionDays: 14 },
  ) {
    this.stats = {
      records: records.length,
      calls: 0,
      pending: 0,
      deletedUsers: 0,
      refusedForDeletedUsers: 0,
      eventsStored: 0,
      duplicates: 0,
      profilesWritten: 0,
      membershipsAdded: 0,
      eventsReattributed: 0,
      rejects: 0,
      failedRecords: 0,
    };
  }

  /** Records a reject about a call (or, with no index, about a whole record). */
  reject(where: { recordId: string; index?: number }, reject: RejectRecord): void {
    this.rejects.push({ recordId: where.recordId, call: callKey(where.recordId, where.index), reject });
  }

  /** Sends the records of these units back to SQS. */
  sendBack(units: Iterable<Pick<CallUnit, "recordId">>): void {
    for (const unit of units) this.failed.add(unit.recordId);
  }

  /** Sends these records back to SQS. */
  sendBackRecords(recordIds: Iterable<string>): void {
    for (const id of recordIds) this.failed.add(id);
  }

  /**
   * Runs one storage step for the calls that contributed to it; true when it succeeded. A retryable
   * failure sends their records back to SQS; a permanent one becomes a reject of the call involved,
   * or, when the step served several calls, sets them aside to be run again alone.
   *
   * @example
   * if (!(await ctx.run([unit], "alias", () => store.saveAlias(ws, from, to, time)))) return;
   */
  async run(units: CallUnit[], step: string, work: () => Promise<unknown>): Promise<boolean> {
    try {
      await work();
      return true;
    } catch (error) {
      this.isolate(units, step, error);
      return false;
    }
  }

  /**
   * {@link run} for a step that reads: its result, or undefined when it failed (and was handled).
   *
   * @example
   * const maps = await ctx.read(group, "entity_map", () => store.lookupEntityMaps(ws, refs));
   * if (!maps) continue; // the group's records are handled
   */
  async read<T extends object>(units: CallUnit[], step: string, work: () => Promise<T>): Promise<T | undefined> {
    let result: T | undefined;
    await this.run(units, step, async () => {
      result = await work();
    });
    return result;
  }

  /**
   * Runs a step whose every failure, permanent or not, sends the records back: for steps that
   * must happen (see the deletion undo), where setting a call aside would not redo them. Its
   * result, or undefined when it failed.
   */
  async orSendBack<T>(units: CallUnit[], work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch {
      this.sendBack(units);
      return undefined;
    }
  }

  private isolate(units: CallUnit[], step: string, error: unknown): void {
    if (isRetryable(error)) {
      this.sendBack(units);
      return;
    }
    if (new Set(units.map(unitKey)).size > 1) {
      for (const { recordId, index, raw, origin } of units) {
        this.suspects.set(callKey(recordId, index), { recordId, index, raw, origin });
      }
      return;
    }
    for (const unit of units) {
      this.reject(unit, {
        workspaceId: unit.call.workspaceId,
        source: unit.call.source,
        messageId: unit.call.messageId,
        code: (error as IngestError).code,
        field: step,
        message: (error as IngestError).message,
        value: null,
      });
    }
  }

  /** The rejects this batch writes: a call set aside writes its own in its run (else counted twice). */
  ownRejects(): BatchReject[] {
    return this.rejects.filter((r) => !this.suspects.has(r.call));
  }
}
