import { sweepPendingCalls } from "../../aws/src/handlers/sweep";

/**
 * The local stand-in for the scheduled job that expires pending calls: every interval, each
 * workspace's calls held longer than the retention for an entity map become `id.unmapped` rejects.
 */

export interface PendingSweepOptions {
  workspaces: { listWorkspaces(): Promise<{ id: string }[]> };
  identity: { expirePending(workspaceId: string, now: string, retentionDays: number): Promise<number> };
  retentionDays: number;
  /** Default 60 s. */
  intervalMs?: number;
  now?: () => Date;
  /** One line per sweep that expired something, and per failure. */
  log?: (line: string) => void;
}

export interface PendingSweep {
  /** Runs one sweep now; resolves to the number of calls expired. */
  sweep(): Promise<number>;
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/**
 * Sweeps once at start and then every `intervalMs`. A failed sweep is logged and tried again at the
 * next interval.
 *
 * @example
 * const sweep = startPendingSweep({ workspaces, identity, retentionDays: config.pendingRetentionDays });
 * await sweep.stop();
 */
export function startPendingSweep(options: PendingSweepOptions): PendingSweep {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => {});
  let running: Promise<number> | undefined;

  // The same sweep as the scheduled Lambda's; only the timer is local.
  const sweepOnce = async (): Promise<number> => {
    return sweepPendingCalls({
      ...options,
      now: () => now().toISOString(),
      onExpired: (workspaceId, count) =>
        log(`pending: ${count} call(s) of workspace ${workspaceId} expired as id.unmapped rejects`),
    });
  };
  const sweep = () => {
    running ??= sweepOnce().finally(() => {
      running = undefined;
    });
    return running;
  };
  const tick = () =>
    void sweep().catch((error: unknown) =>
      log(
        `pending: sweep failed (${error instanceof Error ? error.message : String(error)}); tried again at the next interval`,
      ),
    );

  const timer = setInterval(tick, options.intervalMs ?? 60_000);
  timer.unref();
  tick();

  return {
    sweep,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => 0);
    },
  };
}
