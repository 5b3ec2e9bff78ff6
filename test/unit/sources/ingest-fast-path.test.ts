import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { HttpRequest } from "../../../packages/core/src/http/request";
import { errorBody } from "../../../packages/core/src/http/status";
import { jsonNestingExceeds } from "../../../packages/core/src/ingest/body";
import { checkCalls } from "../../../packages/core/src/ingest/calls";
import { ingestLimits } from "../../../packages/core/src/ingest/limits";
import { receiveIngestRequest } from "../../../packages/core/src/ingest/receive";
import { RawQueueMessage } from "../../../packages/core/src/queue-message";
import { describeIssues, SegmentCall } from "../../../packages/core/src/segment/envelope";
import { scanCallTexts } from "../../../packages/core/src/sources/segment/call-texts";
import { isCertainlySegmentCall } from "../../../packages/core/src/sources/segment/envelope-check";
import type { Source } from "../../../packages/core/src/workspace/workspace";
import { generateAdversarialCalls } from "../../support/adversarial-calls";
import { prng, type Random, testSeed } from "../../support/seeded-random";

/** Bad inputs of the ingest tests (envelope, id rules, limits), one call each. */
const badCalls: unknown[] = [
  { userId: "u1", event: "E" },
  { type: "purchase", userId: "u1" },
  { type: "track", userId: "u1" },
  { type: "track", event: "E" },
  { type: "track", userId: "u1", event: "" },
  { type: "track", userId: "  ", event: "E" },
  { type: "identify", traits: {} },
  { type: "group", userId: "u1" },
  { type: "group", groupId: " " },
  { type: "alias", userId: "u1" },
  { type: "alias", previousId: "a" },
  { type: "delete" },
  { type: "track", userId: "u1", event: "E", properties: "not an object" },
  { type: "track", userId: "u1", event: "E", properties: [] },
  { type: "track", userId: { id: 1 }, event: "E" },
  { type: "track", userId: true, event: "E" },
  { type: "track", userId: Number.POSITIVE_INFINITY, event: "E" },
  { type: "track", userId: "u1", event: 7 },
  { type: "track", userId: "u1", event: "E", timestamp: 1717200000 },
  { type: "identify", userId: "u1", traits: { constructor: "x" } },
  { type: "TRACK", userId: "u1", event: "E" },
  "not a call",
  null,
  [],
  7,
];

/** Values a field can take, valid or not for one field or another. */
const fieldValues: unknown[] = [
  undefined,
  null,
  "",
  " ",
  "\t\n",
  "x",
  " u1 ",
  "s\ud800",
  0,
  7,
  -1.5,
  Number.POSITIVE_INFINITY,
  Number.NaN,
  true,
  false,
  [],
  ["a"],
  {},
  { a: 1 },
  { constructor: 1 },
  { constructor: {} },
  Object.create(null),
  "track",
  "identify",
  "delete",
];
const fields = [
  "type",
  "messageId",
  "userId",
  "anonymousId",
  "groupId",
  "previousId",
  "event",
  "name",
  "timestamp",
  "originalTimestamp",
  "receivedAt",
  "sentAt",
  "traits",
  "properties",
  "context",
  "writeKey",
  "other",
];

/** A call changed in one to three fields (or one removed), drawn by `r`. */
function variation(call: Record<string, unknown>, r: Random): Record<string, unknown> {
  const out: Record<string, unknown> = { ...call };
  for (let n = 1 + r.int(3); n > 0; n--) {
    const field = r.pick(fields);
    if (r.chance(0.2)) delete out[field];
    else out[field] = r.pick(fieldValues);
  }
  return out;
}

/** The corpus: the adversarial calls, the bad inputs, and seeded variations of both. */
function corpus(seed: number): unknown[] {
  const r = prng(seed);
  const valid = [1, 2, 3].flatMap((s) => generateAdversarialCalls(seed + s, 60).map((c) => c.call));
  const objects = [...valid, ...(badCalls.filter((c) => typeof c === "object" && c && !Array.isArray(c)) as [])];
  const varied = Array.from({ length: 4000 }, () => variation(r.pick(objects) as Record<string, unknown>, r));
  return [...valid, ...badCalls, ...varied];
}

/** The outcome of checking one call as the schema alone decides it: accepted, or refused and why. */
function schemaOutcome(call: unknown) {
  if (typeof call !== "object" || call === null || Array.isArray(call)) {
    return { ok: false, code: "envelope.invalid", message: "a call must be a JSON object" };
  }
  const result = SegmentCall.safeParse(call);
  return result.success ? { ok: true } : { ok: false, code: "envelope.invalid", message: describeIssues(result.error) };
}

function checkOutcome(call: unknown) {
  try {
    checkCalls([call]);
    return { ok: true };
  } catch (error) {
    const body = errorBody(error);
    return { ok: false, code: body.code, message: body.problems?.[0]?.message };
  }
}

describe("the envelope fast path against the schema (differential)", () => {
  const calls = corpus(testSeed(2101));

  it("never accepts a call the schema refuses, and accepts every valid call of the corpus itself", () => {
    let fast = 0;
    for (const call of calls) {
      if (typeof call !== "object" || call === null || Array.isArray(call)) continue;
      const certain = isCertainlySegmentCall(call as Record<string, unknown>);
      if (certain) {
        fast++;
        expect(SegmentCall.safeParse(call).success, JSON.stringify(call)).toBe(true);
      }
    }
    for (const { call } of generateAdversarialCalls(testSeed(2101), 200)) {
      expect(isCertainlySegmentCall(call), JSON.stringify(call)).toBe(true);
    }
    // The variations reach both sides.
    expect(fast).toBeGreaterThan(500);
    expect(fast).toBeLessThan(calls.length - 500);
  });

  it("checkCalls accepts and refuses each call exactly as the schema alone, with the same code and message", () => {
    for (const call of calls) expect(checkOutcome(call), JSON.stringify(call)).toEqual(schemaOutcome(call));
  });
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters SQS refuses, as split-batch.ts escapes them.
const outsideSqsCharset = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/;

/** A JSON text of `value` with random white space and escapes (what a sender may send). */
function looseJson(value: unknown, r: Random): string {
  const ws = () => r.pick(["", "", " ", "\n  ", "\t"]);
  const str = (s: string) =>
    JSON.stringify(s).replace(/[/éa]/g, (c) =>
      r.chance(0.5) ? (c === "/" ? "\\/" : `\\u00${c.charCodeAt(0).toString(16)}`) : c,
    );
  if (typeof value === "string") return str(value);
  if (Array.isArray(value)) return `[${ws()}${value.map((v) => looseJson(v, r)).join(`${ws()},${ws()}`)}${ws()}]`;
  if (value && typeof value === "object") {
    const parts = Object.entries(value).map(([k, v]) => `${ws()}${str(k)}${ws()}:${ws()}${looseJson(v, r)}`);
    return `{${parts.join(",")}${ws()}}`;
  }
  return JSON.stringify(value);
}

/** Number texts: plain ones, and (`inexactNumbers`) ones whose serialisation is not their text. */
const inexactNumbers = ["1e5", "1E-3", "2.5e+2", "1e400", "9999999999999999", "12345678901234567890"];
const numberTexts = ["0", "-1", "1.5", "1.50", "-0", "0.1", "123456789012345", ...inexactNumbers];

describe("each call's text, sliced from the body", () => {
  it("reads back as the parsed call, serialises to no more bytes, and checks depth as before", () => {
    const r = prng(testSeed(2102));
    const calls = generateAdversarialCalls(testSeed(2102), 300).map((c) => c.call);
    let sliced = 0;
    let asciiTexts = 0;
    for (let i = 0; i < 300; i++) {
      const batch = Array.from({ length: 1 + r.int(5) }, () => ({
        ...(r.pick(calls) as object),
        properties: { n: '[{,}]"\\', nested: [{ a: [] }, "]"], tag: "é/a" },
      }));
      let text = looseJson(r.chance(0.2) ? batch[0] : batch, r);
      // Some calls get a number whose text is not what JSON.stringify would write.
      text = text.replace(/"n":/g, () => `"k":${r.pick(numberTexts)},"n":`);
      const parsed = JSON.parse(text);
      const values = Array.isArray(parsed) ? parsed : [parsed];
      const texts = scanCallTexts(text, 64);
      expect(texts).toBeDefined();
      values.forEach((value, index) => {
        const found = texts?.[index];
        if (found === undefined) return;
        const own = found.text;
        expect(found.bytes).toBe(Buffer.byteLength(own));
        expect(found.sqsSafe).toBe(!outsideSqsCharset.test(own));
        sliced++;
        expect(JSON.parse(own)).toEqual(value);
        expect(JSON.stringify(JSON.parse(own))).toBe(JSON.stringify(value));
        expect(Buffer.byteLength(JSON.stringify(value))).toBeLessThanOrEqual(Buffer.byteLength(own));
        for (const inexact of inexactNumbers) expect(own).not.toContain(`"k":${inexact},`);
      });
      const ascii = Buffer.byteLength(text) === text.length;
      for (const limit of [1, 2, 3, 4, 64]) {
        expect(scanCallTexts(text, limit) === undefined).toBe(jsonNestingExceeds(text, limit));
        // Skipping through strings of an ASCII text finds the same.
        if (ascii) expect(scanCallTexts(text, limit, true)).toEqual(scanCallTexts(text, limit));
      }
      if (ascii) asciiTexts++;
    }
    expect(sliced).toBeGreaterThan(300);
    expect(asciiTexts).toBeGreaterThan(30);
  });

  it("gives no text to a non-object element, and indexes elements by their place", () => {
    expect(scanCallTexts('[ 1, "{}", {"a":[1,{}]} ,null,{ } ]', 64)?.map((t) => t?.text)).toEqual([
      undefined,
      undefined,
      '{"a":[1,{}]}',
      undefined,
      "{ }",
    ]);
    expect(scanCallTexts(' {"type":"track"} ', 64)).toEqual([{ text: '{"type":"track"}', bytes: 16, sqsSafe: true }]);
  });
});

const secret = "fast-path-secret";
const source = {
  workspaceId: "ws",
  name: "product",
  secrets: [{ value: secret, createdAt: "2024-01-01T00:00:00.000Z" }],
  writeKeyHash: "0".repeat(64),
  createdAt: "2024-01-01T00:00:00.000Z",
} as Source;

async function deliver(body: string, signed = body) {
  const queued: string[] = [];
  const ports = {
    credentials: { findSource: async () => source, findSourceByWriteKeyHash: async () => undefined },
    queue: { send: async (bodies: readonly string[]) => void queued.push(...bodies) },
  };
  const request: HttpRequest = {
    method: "POST",
    path: "/v1/webhooks/segment/ws",
    headers: {
      "content-type": "application/json",
      "x-signature": createHmac("sha1", secret).update(signed).digest("hex"),
    },
    body: Buffer.from(body),
    requestId: "r1",
    receivedAt: new Date("2024-06-01T00:00:00Z"),
  };
  const result = await receiveIngestRequest(request, ports);
  const messages = queued.map((b) => RawQueueMessage.parse(JSON.parse(b)));
  return { result, queued, calls: messages.flatMap((m) => m.calls) };
}

describe("webhook calls queued as sent", () => {
  it("queues a call's own text (white space, escapes) and the same value the parsed call has", async () => {
    const body = '[ {"type": "track", "userId":"u1",\n "event":"caf\\u00e9 \\/ x", "properties":{"n":1.50}} ]';
    const first = JSON.stringify(JSON.parse(body)[0]);
    const { result, queued, calls } = await deliver(body, first);
    expect(result.ok).toBe(true);
    expect(queued[0]).toContain(
      '{"type": "track", "userId":"u1",\\n "event":"caf\\u00e9 \\/ x", "properties":{"n":1.50}}'.replace("\\n", "\n"),
    );
    expect(calls).toEqual(JSON.parse(body));
  });

  it("serialises a call whose text is not what it means byte for byte, or that loses its writeKey", async () => {
    const body =
      '[{"type":"track","userId":"u1","event":"E","properties":{"big":1e400,"n":2E1}},{"type":"track","userId":"u2","event":"E","writeKey":"wk"}]';
    const { result, queued, calls } = await deliver(body, JSON.stringify(JSON.parse(body)[0]));
    expect(result.ok).toBe(true);
    expect(queued[0]).toContain('"properties":{"big":null,"n":20}');
    expect(calls[1]).toEqual({ type: "track", userId: "u2", event: "E" });
  });

  it("measures the 32 KB limit on the serialised call, as before, when white space makes its text longer", async () => {
    const padding = " ".repeat(4000);
    const fill = "x".repeat(ingestLimits.maxEventBytes - 200);
    const body = `{"type":"track","userId":"u1","event":"E",${padding}"properties":{"fill":"${fill}"}}`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(ingestLimits.maxEventBytes);
    const { result, calls } = await deliver(body);
    expect(result.ok).toBe(true);
    expect(calls[0]).toEqual(JSON.parse(body));
    const over = `{"type":"track","userId":"u1","event":"E","properties":{"fill":"${fill}${"y".repeat(300)}"}}`;
    const refused = await deliver(over);
    expect(refused.result.ok ? undefined : refused.result.error.code).toBe("event.too_large");
  });
});
