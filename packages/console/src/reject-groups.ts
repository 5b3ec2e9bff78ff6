/** Rejects grouped the way a customer fixes them: by reason code, then by field and value. */
import type { Reject } from "../../core/src/api/schemas";

export interface RejectRow {
  field: string;
  /** The offending value as JSON (or a note when the API truncated it). */
  value: string;
  message: string;
  /** How many times calls were refused for this field and value (every reject's `seen_count`). */
  count: number;
  /** Distinct calls (message ids). */
  calls: number;
  lastSeen: string;
  messageIds: string[];
  sources: string[];
}

export interface RejectGroup {
  code: string;
  count: number;
  rows: RejectRow[];
}

/** The value of a reject as text: JSON, or a note when it was too large to keep. */
export function rejectValueText(reject: Pick<Reject, "value" | "value_truncated">): string {
  if (reject.value_truncated) return "(too large to keep: see the raw call in your Segment debugger)";
  if (reject.value === undefined) return "";
  return JSON.stringify(reject.value);
}

/**
 * Groups by code (most frequent first), and within a code by field and value (most frequent first).
 *
 * @example
 * groupRejects(rejects)[0]; // { code: "trait.nested_object", count: 3, rows: [{ field: "traits.address", … }] }
 */
export function groupRejects(rejects: readonly Reject[]): RejectGroup[] {
  const groups = new Map<string, Map<string, RejectRow>>();
  for (const reject of rejects) {
    let rows = groups.get(reject.code);
    if (!rows) {
      rows = new Map();
      groups.set(reject.code, rows);
    }
    const value = rejectValueText(reject);
    const key = `${reject.field}\u0000${value}`;
    let row = rows.get(key);
    if (!row) {
      row = {
        field: reject.field,
        value,
        message: reject.message,
        count: 0,
        calls: 0,
        lastSeen: "",
        messageIds: [],
        sources: [],
      };
      rows.set(key, row);
    }
    row.count += reject.seen_count;
    row.calls += 1;
    if (reject.last_seen > row.lastSeen) row.lastSeen = reject.last_seen;
    row.messageIds.push(reject.message_id);
    if (!row.sources.includes(reject.source)) row.sources.push(reject.source);
  }
  const byCount = <T extends { count: number }>(a: T, b: T) => b.count - a.count;
  return [...groups.entries()]
    .map(([code, rows]) => {
      const list = [...rows.values()].sort(byCount);
      return { code, count: list.reduce((sum, row) => sum + row.count, 0), rows: list };
    })
    .sort((a, b) => byCount(a, b) || a.code.localeCompare(b.code));
}
