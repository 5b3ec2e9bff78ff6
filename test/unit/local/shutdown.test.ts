import { describe, expect, it } from "vitest";
import { shutdownSignals } from "../../../packages/local/src/shutdown";

function harness() {
  let now = 0;
  const calls: string[] = [];
  const shutdown = shutdownSignals({
    onStop: (s) => calls.push(`stop ${s}`),
    onForce: (s) => calls.push(`force ${s}`),
    graceMs: 1000,
    now: () => now,
  });
  return { shutdown, calls, advance: (ms: number) => (now += ms) };
}

describe("shutdownSignals", () => {
  it("stops on the first signal and resolves with it", async () => {
    const { shutdown, calls } = harness();
    shutdown.receive("SIGTERM");
    expect(await shutdown.requested).toBe("SIGTERM");
    expect(calls).toEqual(["stop SIGTERM"]);
  });

  it("takes a repeat within the grace time as the same Ctrl-C (group signal plus tsx's relay)", () => {
    const { shutdown, calls, advance } = harness();
    shutdown.receive("SIGINT");
    advance(30);
    shutdown.receive("SIGINT");
    expect(calls).toEqual(["stop SIGINT"]);
  });

  it("exits at once on a second signal after the grace time", () => {
    const { shutdown, calls, advance } = harness();
    shutdown.receive("SIGINT");
    advance(1500);
    shutdown.receive("SIGINT");
    expect(calls).toEqual(["stop SIGINT", "force SIGINT"]);
  });
});
