/**
 * How the local stack reacts to Ctrl-C and SIGTERM: the first signal starts a clean stop; a second
 * one, a moment later, exits at once. A repeat within `graceMs` counts as the same request,
 * because one Ctrl-C can arrive twice: the terminal signals the whole process group, and tsx (the
 * parent process) may relay the same signal to its child again.
 */

export interface ShutdownSignals {
  /** Resolves with the first signal. */
  requested: Promise<NodeJS.Signals>;
  /** Feed a received signal (what `process.on("SIGINT", …)` calls). */
  receive(signal: NodeJS.Signals): void;
}

/**
 * @example
 * const shutdown = shutdownSignals({ onStop: (s) => log(`${s}: stopping`), onForce: () => process.exit(130) });
 * process.on("SIGINT", shutdown.receive);
 * await shutdown.requested;
 */
export function shutdownSignals(options: {
  onStop(signal: NodeJS.Signals): void;
  onForce(signal: NodeJS.Signals): void;
  graceMs?: number;
  now?: () => number;
}): ShutdownSignals {
  const now = options.now ?? Date.now;
  const graceMs = options.graceMs ?? 1000;
  let firstAt: number | undefined;
  let resolve: (signal: NodeJS.Signals) => void = () => {};
  const requested = new Promise<NodeJS.Signals>((done) => {
    resolve = done;
  });
  return {
    requested,
    receive(signal) {
      if (firstAt === undefined) {
        firstAt = now();
        options.onStop(signal);
        resolve(signal);
      } else if (now() - firstAt >= graceMs) {
        options.onForce(signal);
      }
    },
  };
}
