import { describe, expect, it } from "vitest";
import { checkCursorPartition, decodeCursor, encodeCursor } from "../../../packages/aws/src/api/cursor";
import { keys } from "../../../packages/aws/src/dynamo/keys";

const own = keys.rejectPartition("acme").pk;

describe("pagination cursors", () => {
  it("round-trips scope, position and key as opaque base64url text", () => {
    const cursor = {
      scope: "account-events:a1",
      position: "2024-05",
      key: { pk: "WS#acme#E#m1", sk: "EVENT", apk: "WS#acme#A#a1#2024-05", ask: "2024-05-01T00:00:00.000Z#m1" },
    };
    const text = encodeCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(text, "acme", "account-events:a1")).toEqual(cursor);
    expect(decodeCursor(encodeCursor({ scope: "accounts", position: "trial" }), "acme", "accounts")).toEqual({
      scope: "accounts",
      position: "trial",
    });
  });

  it("refuses a key in another workspace's partitions, including prefix look-alikes", () => {
    for (const pk of ["WS#globex#REJECTS", "WS#acme-2#REJECTS", "WS#acm", "APIKEY#abc", "WORKSPACES"]) {
      const text = encodeCursor({ scope: "rejects:", position: "", key: { pk, sk: "x" } });
      expect(() => decodeCursor(text, "acme", "rejects:")).toThrowError(
        expect.objectContaining({ code: "cursor.invalid" }),
      );
    }
    // Index keys are partitions too: a cursor cannot smuggle another workspace's index partition.
    const gsi = encodeCursor({
      scope: "accounts",
      position: "trial",
      key: { pk: "WS#acme#A#a1", sk: "PROFILE", gsi2pk: "WS#globex#BUCKET#trial", gsi2sk: "a1" },
    });
    expect(() => decodeCursor(gsi, "acme", "accounts")).toThrowError(
      expect.objectContaining({ code: "cursor.invalid" }),
    );
  });

  it("refuses text that is not a cursor, and a cursor of another listing", () => {
    const bad = [
      "",
      "not a cursor!",
      Buffer.from("[1,2]").toString("base64url"),
      Buffer.from("{not json").toString("base64url"),
      Buffer.from(JSON.stringify({ s: "rejects:", k: { pk: 7 } })).toString("base64url"),
      Buffer.from(JSON.stringify({ s: "rejects:", extra: true })).toString("base64url"),
    ];
    for (const text of bad) {
      expect(() => decodeCursor(text, "acme", "rejects:")).toThrowError(
        expect.objectContaining({ code: "cursor.invalid" }),
      );
    }
    const pending = encodeCursor({ scope: "pending", position: "", key: { pk: "WS#acme#PENDING", sk: "x" } });
    expect(() => decodeCursor(pending, "acme", "rejects:")).toThrowError(/another listing/);
  });

  it("checks that a key lies in the partition a listing reads", () => {
    expect(() => checkCursorPartition({ pk: own, sk: "x" }, "pk", own)).not.toThrow();
    expect(() => checkCursorPartition(undefined, "pk", own)).not.toThrow();
    expect(() => checkCursorPartition({ pk: keys.pendingPartition("acme").pk, sk: "x" }, "pk", own)).toThrowError(
      expect.objectContaining({ code: "cursor.invalid" }),
    );
    expect(() => checkCursorPartition({ sk: "x" }, "pk", own)).toThrowError(
      expect.objectContaining({ code: "cursor.invalid" }),
    );
  });
});
