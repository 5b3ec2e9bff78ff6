import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../packages/core/src/errors";
import {
  entityMapKey,
  parseEntityMapUpload,
  planEntityMapUpload,
} from "../../../packages/core/src/identity/entity-map";

describe("parseEntityMapUpload", () => {
  it("reads CSV with quoting and JSON arrays, turning numeric ids into strings", () => {
    const csv =
      'source,kind,external_id,canonical_id\r\nsalesforce,account,"001,A","acme ""inc"""\nhubspot,user,42,u-42\n';
    expect(parseEntityMapUpload(csv, "text/csv; charset=utf-8")).toEqual([
      { source: "salesforce", kind: "account", external_id: "001,A", canonical_id: 'acme "inc"' },
      { source: "hubspot", kind: "user", external_id: "42", canonical_id: "u-42" },
    ]);
    expect(
      parseEntityMapUpload('[{"source":"sf","kind":"user","external_id":7,"canonical_id":"u7"}]', "application/json"),
    ).toEqual([{ source: "sf", kind: "user", external_id: "7", canonical_id: "u7" }]);
  });

  it("reports every bad row together, by line, and refuses maps of the primary source", () => {
    const csv = "source,kind,external_id,canonical_id\nsf,group,1,a\nproduct,user,2,b\nsf,user,,c\n";
    try {
      parseEntityMapUpload(csv, "text/csv");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      const e = error as ValidationError;
      expect(e.code).toBe("entity_map.invalid");
      expect(e.message).toContain("3 invalid row(s)");
      expect(e.message).toMatch(/line 2: kind/);
      expect(e.message).toMatch(/line 3: source .*primary/);
      expect(e.message).toMatch(/line 4: external_id/);
    }
  });

  it("reads ids by the id rules: trimmed; blank, lone surrogates and more than 512 bytes refused", () => {
    expect(
      parseEntityMapUpload(
        '[{"source":"sf","kind":"user","external_id":" 7 ","canonical_id":"\\tu7"}]',
        "application/json",
      ),
    ).toEqual([{ source: "sf", kind: "user", external_id: "7", canonical_id: "u7" }]);
    const rows = [
      { source: "sf", kind: "user", external_id: "   ", canonical_id: "u1" },
      { source: "sf", kind: "user", external_id: "x".repeat(513), canonical_id: "u1" },
      { source: "sf", kind: "account", external_id: "a1", canonical_id: "é".repeat(300) },
    ];
    const json = `${JSON.stringify(rows).slice(0, -1)},{"source":"sf","kind":"user","external_id":"s\\ud800","canonical_id":"u1"}]`;
    try {
      parseEntityMapUpload(json, "application/json");
      expect.unreachable();
    } catch (error) {
      const e = error as ValidationError;
      expect(e.code).toBe("entity_map.invalid");
      expect(e.message).toContain("4 invalid row(s)");
      expect(e.message).toMatch(/entry 0: external_id must not be blank/);
      expect(e.message).toMatch(/entry 1: external_id is 513 bytes/);
      expect(e.message).toMatch(/entry 2: canonical_id is 600 bytes/);
      expect(e.message).toMatch(/entry 3: external_id is not well-formed Unicode/);
    }
  });

  it("reads a quoted field that holds a line break as one field of its row (RFC 4180)", () => {
    const csv = 'source,kind,external_id,canonical_id\nsalesforce,account,"001\nA",acme\nhubspot,user,"x\r\ny",u-1\n';
    expect(parseEntityMapUpload(csv, "text/csv")).toEqual([
      { source: "salesforce", kind: "account", external_id: "001\nA", canonical_id: "acme" },
      { source: "hubspot", kind: "user", external_id: "x\r\ny", canonical_id: "u-1" },
    ]);
  });

  it("keeps the spaces inside quotes as data, as the same row in JSON would, and trims only unquoted ones", () => {
    // Unquoted spaces around a field are layout; a quoted " user" is the value " user", not a kind.
    expect(parseEntityMapUpload("source,kind,external_id,canonical_id\n sf , user ,1, u1 \n", "text/csv")).toEqual([
      { source: "sf", kind: "user", external_id: "1", canonical_id: "u1" },
    ]);
    const quoted = 'source,kind,external_id,canonical_id\nsf," user",1,u1\n"sf ",account,2,a2\n';
    const json = JSON.stringify([
      { source: "sf", kind: " user", external_id: "1", canonical_id: "u1" },
      { source: "sf ", kind: "account", external_id: "2", canonical_id: "a2" },
    ]);
    const problems = (body: string, type: string) => {
      try {
        parseEntityMapUpload(body, type);
      } catch (error) {
        return ((error as ValidationError).details?.problems as string[] | undefined)?.map((p) =>
          p.replace(/^\w+ \d+: /, ""),
        );
      }
      return [];
    };
    expect(problems(quoted, "text/csv")).toHaveLength(2);
    expect(problems(quoted, "text/csv")).toEqual(problems(json, "application/json"));
  });

  it("names the line a row starts on, past blank lines and quoted line breaks, and refuses unclosed quotes", () => {
    const csv = 'source,kind,external_id,canonical_id\n\nsf,user,"a\nb",u1\nsf,group,2,u2\n';
    expect(() => parseEntityMapUpload(csv, "text/csv")).toThrow(/1 invalid row\(s\): line 5: kind/);
    expect(() => parseEntityMapUpload('source,kind,external_id,canonical_id\nsf,user,"1,u1\n', "text/csv")).toThrow(
      expect.objectContaining({ code: "entity_map.invalid", message: expect.stringMatching(/malformed.*line 2/) }),
    );
  });

  it("refuses a wrong header, an empty upload and more than 10,000 rows", () => {
    expect(() => parseEntityMapUpload("a,b,c,d\nx,y,z,w", "text/csv")).toThrow(/header/);
    expect(() => parseEntityMapUpload("[]", "application/json")).toThrow(/no entries/);
    const rows = Array.from({ length: 10_001 }, (_, i) => ({
      source: "sf",
      kind: "user",
      external_id: String(i),
      canonical_id: "u",
    }));
    expect(() => parseEntityMapUpload(JSON.stringify(rows), "application/json")).toThrow(/at most 10000/);
  });
});

describe("planEntityMapUpload", () => {
  const e = (external_id: string, canonical_id: string) => ({
    source: "sf",
    kind: "account" as const,
    external_id,
    canonical_id,
  });

  it("sorts entries into created, unchanged, changed (with replace) and conflicts", () => {
    const stored = new Map([
      [entityMapKey(e("same", "x")), "x"],
      [entityMapKey(e("moved", "x")), "old"],
    ]);
    const upload = [e("new", "n"), e("same", "x"), e("moved", "new")];
    expect(planEntityMapUpload(upload, stored, { replace: false })).toEqual({
      created: [e("new", "n")],
      changed: [],
      unchanged: [e("same", "x")],
      conflicts: [{ entry: e("moved", "new"), reason: "already mapped to another canonical id", other: "old" }],
    });
    expect(planEntityMapUpload(upload, stored, { replace: true }).changed).toEqual([
      { entry: e("moved", "new"), previous: "old" },
    ]);
  });

  it("does not create an entry that the same upload maps to two canonical ids", () => {
    const plan = planEntityMapUpload([e("dup", "a"), e("dup", "b"), e("dup", "a")], new Map(), { replace: false });
    expect(plan.created).toEqual([]);
    expect(plan.conflicts).toEqual([
      { entry: e("dup", "b"), reason: "mapped to two canonical ids in this upload", other: "a" },
    ]);
  });
});
