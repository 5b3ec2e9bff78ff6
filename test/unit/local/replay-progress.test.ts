import { describe, expect, it } from "vitest";
import { progressDisplay } from "../../../packages/local/src/replay/progress";

const outcome = (sent: number) => ({
  sentCalls: sent,
  sentRequests: sent,
  acceptedCalls: sent,
  rejectedCalls: 0,
  rejectedByCode: {},
  retries: 0,
});

describe("the replay's progress bar", () => {
  it("is cut to the terminal's width, so a redraw never wraps onto a new line", () => {
    const written: string[] = [];
    const progress = progressDisplay({ isTTY: true, columns: 40, write: (t: string) => written.push(t) });
    progress.update(outcome(1234), 5000);
    progress.finish();
    const drawn = written.filter((w) => w.startsWith("\r"));
    expect(drawn.length).toBeGreaterThan(0);
    for (const line of drawn) expect(line.length - 1).toBeLessThan(40);
    expect(drawn[0]).toBe(`\r[${"#".repeat(7)}${"-".repeat(23)}]  24% 1`);
  });

  it("writes nothing but \\r, the line and the final \\n: no escape sequences for a log to keep", () => {
    const written: string[] = [];
    const progress = progressDisplay({ isTTY: true, write: (t: string) => written.push(t) });
    for (let sent = 0; sent <= 10; sent++) progress.update(outcome(sent), 10);
    progress.finish();
    expect(written.join("")).not.toContain("\u001b");
    expect(written.at(-2)).toBe(`\r[${"#".repeat(30)}] 100% 10/10 calls · 10 accepted · 0 rejected · 0 retried`);
    expect(written.at(-1)).toBe("\n");
  });
});
