/**
 * Entity maps (spec 3.5): "this id in source X is this canonical user/account". Parsing uploads
 * (JSON or CSV) and planning what an upload changes are pure; the adapter reads and writes.
 */
import { CsvError, type Info, parse as parseCsv } from "csv-parse/sync";
import * as z from "zod/mini";
import { ValidationError } from "../errors";
import { readIdValue } from "../ids";
import { primarySourceName } from "../workspace/workspace";

/** Most rows one upload may carry. */
export const MAX_ENTITY_MAP_ROWS = 10_000;

/** An external or canonical id, read by the id rules (`ids.ts`): trimmed, not blank, well-formed, at most 512 bytes. */
const Id = z.pipe(
  z.union([z.string(), z.number()]),
  z.transform((value, ctx) => {
    const reading = readIdValue(value);
    if (reading.kind === "ok") return reading.id;
    ctx.issues.push({
      code: "custom",
      message: reading.kind === "refused" ? reading.message : "must not be blank",
      input: value,
    });
    return z.NEVER;
  }),
);

/** One map entry as uploaded and as stored. */
export const EntityMapEntry = z.object({
  source: z.string().check(
    z.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "source must be a source name (lowercase letters, digits, - and _)"),
    z.refine(
      (s) => s !== primarySourceName,
      `ids of the primary source "${primarySourceName}" are canonical and need no map`,
    ),
  ),
  kind: z.enum(["user", "account"]),
  external_id: Id,
  canonical_id: Id,
});
export type EntityMapEntry = z.infer<typeof EntityMapEntry>;

/** Which entries an upload creates, changes, leaves as they are, or cannot apply. */
export interface EntityMapPlan {
  created: EntityMapEntry[];
  /** Entries whose stored canonical id differs and the upload asked to replace. */
  changed: { entry: EntityMapEntry; previous: string }[];
  unchanged: EntityMapEntry[];
  conflicts: { entry: EntityMapEntry; reason: string; other: string }[];
}

/** The identity of an entry: one external id of one kind in one source. */
export function entityMapKey(entry: Pick<EntityMapEntry, "source" | "kind" | "external_id">): string {
  return `${entry.source}\u0000${entry.kind}\u0000${entry.external_id}`;
}

const CSV_HEADER = ["source", "kind", "external_id", "canonical_id"] as const;

/**
 * The records of a CSV body (RFC 4180, by csv-parse): a quoted field may hold commas, `""` quotes
 * and line breaks, and keeps its spaces; spaces around an unquoted field are trimmed. Blank lines
 * are skipped. Each record comes with the line it starts on.
 */
function csvRecords(body: string): { fields: string[]; line: number }[] {
  let parsed: { record: string[]; info: Info }[];
  try {
    parsed = parseCsv(body, {
      bom: true,
      trim: true,
      record_delimiter: ["\r\n", "\n"],
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      info: true,
      // The declared overloads do not model `info: true`, which wraps each record with its info.
    }) as unknown as typeof parsed;
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    throw new ValidationError("entity_map.invalid", `the CSV is malformed: ${error.message}`, { cause: error });
  }
  // csv-parse counts lines up to a record's end; a record's own line breaks sit inside quoted fields.
  const breaks = (fields: string[]) => fields.reduce((n, f) => n + (f.match(/\r?\n/g)?.length ?? 0), 0);
  return parsed.map(({ record, info }) => ({ fields: record, line: info.lines - breaks(record) }));
}

/**
 * Reads an upload body: a JSON array of entries or CSV with the header
 * `source,kind,external_id,canonical_id`. Every bad row is reported together, by row number.
 *
 * @throws ValidationError `entity_map.invalid` listing the problems, `entity_map.too_many_rows`.
 * @example
 * parseEntityMapUpload("source,kind,external_id,canonical_id\nsalesforce,account,001A,acme", "text/csv");
 */
export function parseEntityMapUpload(body: string, contentType: string | undefined): EntityMapEntry[] {
  let rows: unknown[];
  let rowLabels: string[] | undefined;
  if ((contentType ?? "").toLowerCase().includes("csv")) {
    const records = csvRecords(body);
    const header = records[0]?.fields ?? [];
    if (CSV_HEADER.some((name, i) => header[i] !== name)) {
      throw new ValidationError("entity_map.invalid", `CSV header must be ${CSV_HEADER.join(",")}`);
    }
    const data = records.slice(1);
    rows = data.map(({ fields: [source, kind, external_id, canonical_id] }) => ({
      source,
      kind,
      external_id,
      canonical_id,
    }));
    rowLabels = data.map((record) => `line ${record.line}`);
  } else {
    try {
      rows = JSON.parse(body);
    } catch {
      throw new ValidationError("entity_map.invalid", "body is not valid JSON (send a JSON array or text/csv)");
    }
    if (!Array.isArray(rows)) throw new ValidationError("entity_map.invalid", "body must be a JSON array of entries");
  }
  if (rows.length === 0) throw new ValidationError("entity_map.invalid", "the upload has no entries");
  if (rows.length > MAX_ENTITY_MAP_ROWS) {
    throw new ValidationError(
      "entity_map.too_many_rows",
      `an upload holds at most ${MAX_ENTITY_MAP_ROWS} rows; this one has ${rows.length}`,
    );
  }
  const entries: EntityMapEntry[] = [];
  const problems: string[] = [];
  rows.forEach((row, i) => {
    const parsed = EntityMapEntry.safeParse(row);
    if (parsed.success) entries.push(parsed.data);
    else {
      const label = rowLabels?.[i] ?? `entry ${i}`;
      problems.push(
        `${label}: ${parsed.error.issues.map((x) => `${x.path.join(".") || "entry"} ${x.message}`).join(", ")}`,
      );
    }
  });
  if (problems.length > 0) {
    throw new ValidationError(
      "entity_map.invalid",
      `${problems.length} invalid row(s): ${problems.slice(0, 20).join("; ")}`,
      {
        details: { problems },
      },
    );
  }
  return entries;
}

/**
 * Plans an upload against what is stored. An external id given two canonical ids in the upload is a
 * conflict; so is one whose stored canonical id differs, unless `replace` is set (then it changes).
 *
 * @example
 * planEntityMapUpload(entries, new Map([[entityMapKey(e), "old"]]), { replace: false }).conflicts;
 */
export function planEntityMapUpload(
  entries: EntityMapEntry[],
  stored: ReadonlyMap<string, string>,
  options: { replace: boolean },
): EntityMapPlan {
  const plan: EntityMapPlan = { created: [], changed: [], unchanged: [], conflicts: [] };
  const seen = new Map<string, EntityMapEntry>();
  for (const entry of entries) {
    const key = entityMapKey(entry);
    const earlier = seen.get(key);
    if (earlier) {
      if (earlier.canonical_id !== entry.canonical_id) {
        plan.conflicts.push({
          entry,
          reason: "mapped to two canonical ids in this upload",
          other: earlier.canonical_id,
        });
      }
      continue;
    }
    seen.set(key, entry);
    const previous = stored.get(key);
    if (previous === undefined) plan.created.push(entry);
    else if (previous === entry.canonical_id) plan.unchanged.push(entry);
    else if (options.replace) plan.changed.push({ entry, previous });
    else plan.conflicts.push({ entry, reason: "already mapped to another canonical id", other: previous });
  }
  // An entry that conflicts inside the upload must not be written through its first occurrence either.
  const conflicted = new Set(plan.conflicts.map((c) => entityMapKey(c.entry)));
  plan.created = plan.created.filter((e) => !conflicted.has(entityMapKey(e)));
  plan.changed = plan.changed.filter((c) => !conflicted.has(entityMapKey(c.entry)));
  return plan;
}
