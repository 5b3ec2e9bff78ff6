/**
 * Readable terminal output: aligned tables and labelled fields.
 *
 * @example
 * formatTable([{ id: "acme", name: "Acme" }], [{ header: "ID", value: (w) => w.id }]);
 */
export interface Column<T> {
  header: string;
  value(row: T): string;
}

export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join("\n");
}

/** `label: value` lines with the values aligned. */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(...fields.map(([label]) => label.length)) + 1;
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`).join("\n");
}

/**
 * A value as one table cell: `-` for none, lists joined by commas, and control characters (from
 * customer data) shown as spaces so they cannot break the table or drive the terminal.
 *
 * @example
 * cell(null); // "-"
 * cell(["a", "b"]); // "a, b"
 */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === "") return "-";
  const text = Array.isArray(value)
    ? value.map(String).join(", ")
    : typeof value === "object"
      ? JSON.stringify(value)
      : String(value);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to neutralise.
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
}
