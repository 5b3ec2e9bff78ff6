import Table from "cli-table3";

/**
 * Readable terminal output: aligned tables and labelled fields. Tables are laid out by cli-table3,
 * which measures cells as a terminal shows them (wide characters, emoji and combining accents), in
 * the plain style: no borders, two spaces between columns.
 *
 * @example
 * formatTable([{ id: "acme", name: "Acme" }], [{ header: "ID", value: (w) => w.id }]);
 */
export interface Column<T> {
  header: string;
  value(row: T): string;
}

const noBorders = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: "  ",
};

export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const table = new Table({
    head: columns.map((c) => c.header),
    chars: noBorders,
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
  });
  for (const row of rows) table.push(columns.map((c) => c.value(row)));
  return table
    .toString()
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n");
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
