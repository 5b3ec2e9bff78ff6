import { createHmac } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient, createSqsClient } from "../../../packages/aws/src/clients";
import { DeliveryStatusStore } from "../../../packages/aws/src/dynamo/delivery-status";
import { WorkspaceStore } from "../../../packages/aws/src/dynamo/workspaces";
import { createIngestDependencies, createIngestHandler } from "../../../packages/aws/src/ingest/handler";
import { type HandlerServer, startHandlerServer } from "../../../packages/local/src/http-adapter";
import { provisionTestResources } from "../../support/local-resources";
import { drainQueue } from "./ingest-stack";

/**
 * The delivery counters are bookkeeping: the calls are queued before they are counted, so a counter
 * store that hangs (a DynamoDB endpoint that accepts connections and never answers) must neither
 * fail nor hold up ingest's answer. The real ingest handler, the real queue and tables; only the
 * counters' client points at the silent endpoint.
 */

let silent: Server;
const sockets = new Set<Socket>();
let ingest: HandlerServer;
let lines: { message: string; attributes: Record<string, unknown> }[] = [];
let env: Awaited<ReturnType<typeof provisionTestResources>>;
let secret: string;

beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const port = (silent.address() as { port: number }).port;
  env = await provisionTestResources();
  const config = { ...env.config, credentialCacheSeconds: 0 };
  const workspaces = new WorkspaceStore(createDocumentClient(config), config.entitiesTable);
  secret = (await workspaces.createWorkspace({ id: "acme" })).sharedSecret;
  const hung = createDocumentClient({ ...config, dynamoEndpoint: `http://127.0.0.1:${port}` });
  const log = {
    info: (message: string, attributes: Record<string, unknown>) => lines.push({ message, attributes }),
    error: (message: string, attributes: Record<string, unknown>) => lines.push({ message, attributes }),
  };
  const deps = {
    ...createIngestDependencies(config),
    deliveries: new DeliveryStatusStore(hung, config.entitiesTable),
    log,
    countersTimeoutMs: 300,
  };
  ingest = await startHandlerServer([{ prefix: "/v1", handler: createIngestHandler(deps) }]);
});
afterAll(async () => {
  await ingest?.close();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
});

describe("ingest with a hung delivery-counter store", () => {
  it("answers 200 promptly once the call is queued, and logs the counter fault", async () => {
    lines = [];
    const body = JSON.stringify({ type: "track", event: "Seat Added", userId: "u1", messageId: "cf-1" });
    const started = Date.now();
    const answer = await fetch(`${ingest.url}/v1/webhooks/segment/acme`, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        "x-signature": createHmac("sha1", secret).update(body).digest("hex"),
      },
      signal: AbortSignal.timeout(8000),
    });
    const tookMs = Date.now() - started;
    expect(answer.status).toBe(200);
    expect(tookMs).toBeLessThan(3000);
    const queued = await drainQueue(createSqsClient(env.config), env.config.rawQueueUrl, 0);
    expect(queued.flatMap((m) => m.message.calls.map((c) => c.messageId))).toEqual(["cf-1"]);
    expect(lines.find((l) => l.message === "ingest")?.attributes).toMatchObject({
      outcome: "queued",
      status: 200,
      countersError: expect.anything(),
    });
  }, 15_000);
});
