import { describe, expect, it } from "vitest";
import { callIdProblems } from "../../../packages/core/src/ids";
import { admitCalls, trackingOrigin, webhookOrigin } from "../../../packages/core/src/ingest/call-admission";
import { isoDay, isoTime } from "../../../packages/core/src/ingest/iso-time";
import { findIngestRoute, matchIngestRoute } from "../../../packages/core/src/ingest/routes";
import { messageHeadOf, splitBatch } from "../../../packages/core/src/ingest/split-batch";
import { dayOf, dayStartMs } from "../../../packages/core/src/sources/delivery-status";
import { ingestFunctionSources } from "../../../packages/core/src/sources/registry";
import { stripeFunctionSources } from "../../../packages/core/src/sources/stripe-registry";
import { generateAdversarialCalls } from "../../support/adversarial-calls";
import { prng, testSeed } from "../../support/seeded-random";

/**
 * The per-request shortcuts of ingest (issue 21) against the plain code they stand for: the
 * remembered route matches, the id rules' fast path, the message head written key by key, and ISO
 * times written by hand.
 */

describe("remembered route matches", () => {
  const r = prng(testSeed(2111));
  const segments = ["webhooks", "segment", "stripe", "acme", "a%20b", "%E2%82%AC", "%zz", "%ff", "", "product", "t"];
  const fixed = [
    "/v1/webhooks/segment/acme",
    "/v1/webhooks/segment/acme/",
    "/v1/webhooks/segment/acme//",
    "/v1/webhooks/segment/acme/other",
    "/v1/webhooks/segment/a%20b/%E2%82%AC",
    "/v1/webhooks/segment/%zz",
    "/v1/webhooks/segment//x",
    "/v1/webhooks/stripe/acme",
    "/v1/t",
    "/v1/t/",
    "/v1/track",
    "/v1/track//",
    "/v1/batch",
    "/v1/b",
    "/v1/unknown",
    "/",
    "",
  ];
  const random = Array.from(
    { length: 400 },
    () => `/v1/${Array.from({ length: 1 + r.int(4) }, () => r.pick(segments)).join("/")}${r.chance(0.2) ? "/" : ""}`,
  );
  const paths = [...fixed, ...random];

  it("answers every path as matching it afresh does, the first time and every time after", () => {
    for (const served of [ingestFunctionSources, stripeFunctionSources]) {
      for (let pass = 0; pass < 3; pass++) {
        for (const path of paths) {
          const fresh = findIngestRoute(path, served);
          const remembered = matchIngestRoute(path, served);
          expect(remembered?.route, path).toEqual(fresh?.route);
          expect(remembered?.limits, path).toEqual(fresh?.limits);
        }
      }
    }
    // Both sides are reached.
    expect(paths.filter((p) => findIngestRoute(p) !== undefined).length).toBeGreaterThan(20);
    expect(paths.filter((p) => findIngestRoute(p) === undefined).length).toBeGreaterThan(20);
  });

  it("shares a match frozen, so no request can change what the next one is given", () => {
    const matched = matchIngestRoute("/v1/webhooks/segment/acme");
    expect(matchIngestRoute("/v1/webhooks/segment/acme")).toBe(matched);
    expect(Object.isFrozen(matched) && Object.isFrozen(matched?.route)).toBe(true);
  });
});

/** Id values that sit on either side of the rules' lines: lengths, multi-byte and astral text, lone surrogates. */
function idValues(): unknown[] {
  const three = "€"; // 3 bytes of UTF-8, 1 UTF-16 unit
  const astral = "😀"; // 4 bytes, 2 units
  return [
    "u1",
    " u1 ",
    "",
    "  ",
    7,
    Number.NaN,
    null,
    true,
    { id: "x" },
    "x".repeat(170),
    "x".repeat(512),
    "x".repeat(513),
    ` ${"x".repeat(512)} `,
    three.repeat(170),
    three.repeat(171),
    three.repeat(200),
    `${three.repeat(170)}xx`,
    astral.repeat(85),
    astral.repeat(128),
    astral.repeat(129),
    "s\ud800",
    "\udc00s",
    `${"x".repeat(100)}\ud83d`,
    "ok\ud83d\ude00",
  ];
}

/** Where ids are read from (spec 3.3), as paths into a call. */
const idPlaces = [
  ["messageId"],
  ["userId"],
  ["anonymousId"],
  ["groupId"],
  ["previousId"],
  ["context", "groupId"],
  ["context", "group_id"],
  ["traits", "company", "id"],
  ["traits", "companyId"],
  ["traits", "account_id"],
  ["properties", "account_id"],
  ["properties", "groupId"],
];

function withValueAt(call: Record<string, unknown>, place: string[], value: unknown): Record<string, unknown> {
  const out = structuredClone(call);
  let at: Record<string, unknown> = out;
  for (const key of place.slice(0, -1)) {
    const next = at[key];
    at[key] = typeof next === "object" && next !== null && !Array.isArray(next) ? { ...next } : {};
    at = at[key] as Record<string, unknown>;
  }
  at[place[place.length - 1] as string] = value;
  return out;
}

/** `admitCalls` as it was before its fast path: every call through `callIdProblems`. */
function plainAdmission(calls: Record<string, unknown>[], origin = trackingOrigin) {
  const admitted: unknown[] = [];
  const refused: unknown[] = [];
  calls.forEach((call, index) => {
    const [problem] = callIdProblems(call);
    if (problem) refused.push({ index, code: problem.code, message: problem.message });
    else if (call.type === "delete" && !origin.mayDelete(index))
      refused.push({ index, code: "delete.not_allowed", message: origin.deleteRefusal(index) });
    else admitted.push(call);
  });
  return { admitted, refused };
}

/** A call no rule refuses: ending every batch with it, `admitCalls` always answers (it throws when it admits none). */
const good = { type: "track", event: "E", userId: "u0" };

describe("the id rules' fast path against callIdProblems (differential)", () => {
  it("admits and refuses every call, alone and in batches, with the same codes and messages", () => {
    const r = prng(testSeed(2112));
    const base = generateAdversarialCalls(testSeed(2112), 120).map((c) => c.call);
    const values = idValues();
    const calls: Record<string, unknown>[] = [...base];
    for (const call of base) {
      for (let n = 0; n < 6; n++) {
        let varied = call;
        for (let k = 1 + r.int(2); k > 0; k--) varied = withValueAt(varied, r.pick(idPlaces), r.pick(values));
        calls.push(varied);
      }
    }
    let refused = 0;
    for (const call of calls) {
      const fast = admitCalls([call, good], trackingOrigin, false);
      expect(fast, JSON.stringify(call)).toEqual(plainAdmission([call, good]));
      refused += fast.refused.length;
    }
    for (let i = 0; i < 200; i++) {
      const batch = [...Array.from({ length: 1 + r.int(8) }, () => r.pick(calls)), good];
      const origin = webhookOrigin(r.chance(0.5) ? "body" : "first_element", false);
      expect(admitCalls(batch, origin, false)).toEqual(plainAdmission(batch, origin));
    }
    // Both sides are reached.
    expect(refused).toBeGreaterThan(100);
    expect(refused).toBeLessThan(calls.length - 100);
  });
});

describe("the message head, written key by key", () => {
  it("is the envelope object's serialisation, escapes included, for any meta", () => {
    const r = prng(testSeed(2113));
    const texts = ["w1", "product", 'a"b\\c', "\u0001\u001f", "é€", "😀", "\ufffe\uffff", "\u2028", "", "x".repeat(70)];
    for (let i = 0; i < 300; i++) {
      const meta = {
        workspaceId: r.pick(texts),
        source: r.pick(texts),
        receivedAt: r.chance(0.5) ? "2024-06-01T00:00:00.000Z" : r.pick(texts),
        requestId: r.pick(texts),
        ...(r.chance(0.7) ? { route: r.pick(["webhook", "tracking", "stripe"] as const) } : {}),
      };
      const [body] = splitBatch([{ type: "track", event: "E", userId: "u1" }], meta, 256 * 1024);
      expect(body).toBe(`${messageHeadOf(meta)}${JSON.stringify({ type: "track", event: "E", userId: "u1" })}]}`);
    }
  });
});

describe("ISO times written by hand", () => {
  it("are toISOString's text, and its day, for any date; an invalid date is refused as it refuses it", () => {
    const r = prng(testSeed(2114));
    const edges = [0, -1, 1, 999, Date.UTC(999, 11, 31, 23, 59, 59, 999), Date.UTC(1000, 0, 1), 253402300799999];
    const times = [...edges, 253402300800000, -62198755200001, 8.64e15, -8.64e15];
    for (let i = 0; i < 5000; i++) times.push(Math.floor((r.next() - 0.2) * 2 * 253402300799999));
    for (let i = 0; i < 2000; i++)
      times.push(Date.UTC(2000 + r.int(40), r.int(12), 1 + r.int(31), r.int(24), r.int(60), r.int(60), r.int(1000)));
    for (const t of times) {
      const date = new Date(t);
      expect(isoTime(date), String(t)).toBe(date.toISOString());
      expect(isoDay(date), String(t)).toBe(date.toISOString().slice(0, 10));
      expect(dayOf(date), String(t)).toBe(date.toISOString().slice(0, 10));
      expect(dayStartMs(date), String(t)).toBe(Date.parse(`${dayOf(date)}T00:00:00.000Z`));
    }
    for (const fn of [isoTime, isoDay, dayOf, dayStartMs]) expect(() => fn(new Date(Number.NaN))).toThrow(RangeError);
  });
});
