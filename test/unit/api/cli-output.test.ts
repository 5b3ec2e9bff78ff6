import { describe, expect, it } from "vitest";
import { formatTable } from "../../../packages/cli/src/output";

const columns = [
  { header: "ACCOUNT", value: (r: { id: string; name: string }) => r.id },
  { header: "NAME", value: (r: { id: string; name: string }) => r.name },
  { header: "PLAN", value: () => "Pro" },
];

describe("CLI tables", () => {
  it("align columns by what a terminal shows, so wide characters and accents do not shift the next column", () => {
    const text = formatTable(
      [
        { id: "acc_1", name: "Acme" },
        { id: "acc_jp", name: "株式会社" },
        { id: "acc_emoji", name: "Café 🚀" },
        // "é" written as e + a combining accent: two code units, one column.
        { id: "acc_nfd", name: "Cafe\u0301" },
      ],
      columns,
    );
    const lines = text.split("\n");
    // Every PLAN cell starts at the same terminal column as its header.
    const planColumn = (line: string) => {
      const before = line.slice(0, line.lastIndexOf("P"));
      return [...before.normalize("NFC")].reduce(
        (n, ch) => n + (/[\u3000-\u9fff]|\p{Extended_Pictographic}/u.test(ch) ? 2 : 1),
        0,
      );
    };
    expect(lines).toHaveLength(5);
    expect(new Set(lines.map(planColumn))).toEqual(new Set([planColumn(lines[0] as string)]));
    expect(lines[0]).toBe("ACCOUNT    NAME      PLAN");
    expect(lines[2]).toBe("acc_jp     株式会社  Pro");
  });

  it("keeps the plain two-space layout with no trailing spaces", () => {
    expect(formatTable([{ id: "a", name: "" }], columns).split("\n")).toEqual([
      "ACCOUNT  NAME  PLAN",
      "a              Pro",
    ]);
  });
});
