import { describe, expect, it } from "vitest";
import { costPerMillion, prices, type ShapeMeasures } from "../../../bench/cost-model";
import { dynamoItemBytes, eventWriteUnits } from "../../../bench/dynamo-cost";

describe("the storage floor's item sizes", () => {
  it("counts attribute names and values as DynamoDB does", () => {
    expect(dynamoItemBytes({ ab: "xyz" })).toBe(5);
    expect(dynamoItemBytes({ n: 12345 })).toBe(1 + 4); // 5 digits: 3 bytes + 1
    expect(dynamoItemBytes({ flag: true, none: null })).toBe(4 + 1 + 4 + 1);
    expect(dynamoItemBytes({ l: ["a", "b"] })).toBe(1 + 3 + 2 + 2);
    expect(dynamoItemBytes({ m: { k: "v" } })).toBe(1 + 3 + 2 + 1);
  });

  it("charges an event once on the table and once on each index it is in, per started KB", () => {
    const keys = { pk: "WS#w#E#1", sk: "EVENT" };
    const both = { ...keys, apk: "WS#w#A#a#2024-05", ask: "t", upk: "WS#w#U#u#2024-05", usk: "t" };
    expect(eventWriteUnits(both)).toBe(3);
    expect(eventWriteUnits({ ...keys, apk: "WS#w#A#a#2024-05", ask: "t" })).toBe(2);
    expect(eventWriteUnits({ ...both, properties: { text: "x".repeat(1500) } })).toBe(6);
  });
});

describe("the cost model", () => {
  const shape: ShapeMeasures = {
    label: "test",
    eventsPerRequest: 1,
    ingestNsPerEvent: 40_000,
    callsPerMessage: 1,
    messagesPerBatch: 100,
    normalizeMsPerEvent: 2,
    writeUnitsPerEvent: 4,
    counterUnitsPerRequest: 0,
    readUnitsPerEvent: 1,
    callBytes: 300,
    logBytesPerEvent: 0,
  };

  it("prices one HTTP request, one Lambda request and the DynamoDB units of every classic webhook event", () => {
    const cost = costPerMillion(shape);
    const line = (item: string) => cost.lines.find((l) => l.item.startsWith(item));
    expect(line("API Gateway")?.quantity).toBe(1e6);
    expect(line("Lambda requests")?.quantity).toBe(1e6 + 1e4);
    expect(line("DynamoDB write")?.dollars).toBeCloseTo(4 * prices.dynamoWriteUnitsPerMillion);
    // 40 µs of CPU is billed as 1 ms at 512 MB.
    expect(line("Lambda ingest")?.quantity).toBeCloseTo(1e6 * 0.001 * 0.5);
  });

  it("grows linearly with volume and moves with the measured units", () => {
    const cost = costPerMillion(shape);
    expect(cost.growth.map((g) => g.dollars)).toEqual([1, 2, 4].map((n) => n * cost.dollarsPerMillion));
    const more = costPerMillion({ ...shape, writeUnitsPerEvent: 8 });
    expect(more.dollarsPerMillion - cost.dollarsPerMillion).toBeCloseTo(4 * prices.dynamoWriteUnitsPerMillion);
  });

  it("prices ingest's delivery-counter write once per HTTP request, not per event", () => {
    const counted = (eventsPerRequest: number) =>
      costPerMillion({ ...shape, eventsPerRequest, counterUnitsPerRequest: 1.5 }).lines.find((l) =>
        l.item.includes("delivery counters"),
      );
    expect(counted(1)?.quantity).toBeCloseTo(1.5e6);
    expect(counted(500)?.quantity).toBeCloseTo(1.5e6 / 500);
    expect(counted(1)?.dollars).toBeCloseTo(1.5 * prices.dynamoWriteUnitsPerMillion);
  });
});
