import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { resolve } from "node:path";
import { expect } from "vitest";
import { readyLine } from "../../packages/local/src/banner";
import { eventually } from "./eventually";

/**
 * The local stack as a child process (`npm start` in the repository root), and the tools around
 * it: the replay CLI as a child process, and the process-table checks that nothing outlives a stop.
 */

export const repositoryRoot = resolve(import.meta.dirname, "../..");

/** The environment of a child: this one without the test runner's own markers (they silence logs). */
export function childEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("VITEST") && name !== "NODE_ENV" && name !== "TEST") env[name] = value;
  }
  return { ...env, ...extra };
}

export interface StackProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** The process and its descendants seen while it ran. */
  pids: Set<number>;
  /** Resolves with the exit code (null if killed by a signal) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** PIDs of every descendant of a process, from the process table. */
export function descendantsOf(pid: number): number[] {
  const table = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const result: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [child, ppid] of table) {
      if (ppid === parent) {
        result.push(child);
        queue.push(child);
      }
    }
  }
  return result;
}

/** Command lines of running processes that contain `text` (pgrep -f), excluding this check itself. */
export function processesMentioning(text: string): string[] {
  try {
    return execFileSync("pgrep", ["-af", "--", text], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter((line) => line !== "" && !line.includes("pgrep"));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Which of these PIDs still run. */
export function stillRunning(pids: Iterable<number>): number[] {
  return [...pids].filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The command lines of these PIDs that still run after a short grace (a process that has been
 * told to stop may take a moment to be reaped), for an assertion that names what was left.
 */
export async function leftOver(pids: Iterable<number>, graceMs = 3000): Promise<string[]> {
  const deadline = Date.now() + graceMs;
  let running = stillRunning(pids);
  while (running.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    running = stillRunning(running);
  }
  const described = running.map((pid) => {
    try {
      return `${pid} ${execFileSync("ps", ["-o", "stat=,args=", "-p", String(pid)], { encoding: "utf8" }).trim()}`;
    } catch {
      return "";
    }
  });
  // A zombie has exited; only its parent's bookkeeping is left (PID 1 of a container may never reap it).
  return described.filter((line) => line !== "" && !/^\d+ Z/.test(line));
}

/** Spawns `npm start` in its own process group, as a terminal runs a foreground command. */
export function spawnStack(env: Record<string, string>): StackProcess {
  const child = spawn("npm", ["start"], {
    cwd: repositoryRoot,
    env: childEnvironment(env),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => done({ code, signal })),
  );
  return {
    child,
    url: `http://127.0.0.1:${env.PORT}`,
    output: () => output,
    pids: new Set(child.pid ? [child.pid] : []),
    exited,
  };
}

/** Waits for the ready line and a healthy `/health`; records the process tree meanwhile. */
export async function waitUntilReady(stack: StackProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: string | undefined;
  void stack.exited.then(({ code, signal }) => {
    exitedWith = `exited (${code ?? signal})`;
  });
  while (Date.now() < deadline) {
    if (exitedWith) throw new Error(`The stack ${exitedWith} before it was ready:\n${stack.output()}`);
    if (stack.child.pid) for (const pid of descendantsOf(stack.child.pid)) stack.pids.add(pid);
    if (stack.output().includes(readyLine)) {
      const health = await fetch(`${stack.url}/health`).catch(() => undefined);
      if (health?.status === 200) return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`The stack was not ready within ${timeoutMs} ms:\n${stack.output()}`);
}

/**
 * Stops the stack with a signal, sent to npm (`process`, as a supervisor would) or to its whole
 * process group (`group`, as Ctrl-C in a terminal does), and waits for npm to exit.
 */
export async function stopStack(
  stack: StackProcess,
  signal: NodeJS.Signals = "SIGTERM",
  target: "process" | "group" = "process",
  timeoutMs = 30_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (stack.child.exitCode !== null || stack.child.signalCode !== null) return stack.exited;
  if (stack.child.pid) for (const pid of descendantsOf(stack.child.pid)) stack.pids.add(pid);
  if (target === "group" && stack.child.pid) process.kill(-stack.child.pid, signal);
  else stack.child.kill(signal);
  const timer = setTimeout(() => {
    for (const pid of stillRunning(stack.pids)) process.kill(pid, "SIGKILL");
  }, timeoutMs);
  try {
    return await stack.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Kills whatever is left of a stack (test clean-up after a failure). */
export function killStack(stack: StackProcess | undefined): void {
  if (!stack) return;
  if (stack.child.pid) for (const pid of descendantsOf(stack.child.pid)) stack.pids.add(pid);
  for (const pid of stillRunning(stack.pids)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Runs a command in the repository root; resolves with its exit code and output. */
export function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: repositoryRoot,
      env: childEnvironment(env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`${command} ${args.join(" ")} did not finish within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once("error", fail);
    child.once("exit", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/**
 * What the stack's own log lines say about its queue: messages ingest queued (`"ingest"` lines
 * with `outcome: "queued"`) and messages normalize finished with (`"normalize batch"` lines:
 * records less the failed ones, which SQS delivers again). When `processed` has caught up with
 * `queued`, every accepted call has been normalized, so what the model shows is final.
 */
export function pipelineProgress(output: string): { queued: number; processed: number; failed: number } {
  let queued = 0;
  let processed = 0;
  let failed = 0;
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    let entry: { message?: string; outcome?: string; messages?: number; records?: number; failedRecords?: number };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (entry.message === "ingest" && entry.outcome === "queued") queued += entry.messages ?? 0;
    if (entry.message === "normalize batch") {
      processed += (entry.records ?? 0) - (entry.failedRecords ?? 0);
      failed += entry.failedRecords ?? 0;
    }
  }
  return { queued, processed, failed };
}

/**
 * Waits until normalize has finished every message ingest queued (both counted from the stack's
 * own log lines, and seen twice 300 ms apart, so that a log line still in the pipe is not missed):
 * what the read API shows after this is final, not a snapshot of a model still moving.
 */
export async function untilSettled(stack: StackProcess | undefined, timeoutMs = 60_000): Promise<void> {
  for (const pass of [1, 2]) {
    if (pass === 2) await new Promise((resolve) => setTimeout(resolve, 300));
    await eventually(
      async () => pipelineProgress(stack?.output() ?? ""),
      (p) => {
        // Nothing counted means no INFO log lines to count from (LOG_LEVEL above INFO, or no
        // stack): the wait would prove nothing, so it does not pass.
        expect(p.queued, "messages ingest logged as queued (is LOG_LEVEL above INFO?)").toBeGreaterThan(0);
        expect(p.processed, `messages normalized of ${p.queued} queued`).toBeGreaterThanOrEqual(p.queued);
      },
      { what: "normalize to finish every message ingest queued", timeoutMs },
    );
  }
}
