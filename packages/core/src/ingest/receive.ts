import type Stripe from "stripe";
import { IngestError, NotFoundError, ValidationError } from "../errors";
import type { HttpRequest } from "../http/request";
import type { ItemProblem } from "../http/status";
import type { FunctionSources, SourceKind } from "../sources/registry";
import type { Source, SourceRef } from "../workspace/workspace";
import { checkContentType, checkRequestSize } from "./body";
import { decodeContent } from "./content-encoding";
import { isoTime } from "./iso-time";
import { maxRawMessageBodyBytes } from "./limits";
import { matchIngestRoute } from "./routes";
import { type RawMessageMeta, splitBatch } from "./split-batch";

/** How ingest finds a source's credentials (DynamoDB behind a short in-process cache, on AWS). */
export interface CredentialLookup {
  /** The source, or undefined when the workspace or the source does not exist. */
  findSource(workspaceId: string, sourceName: string): Promise<Source | undefined>;
  /** The source a write key belongs to, by the key's SHA-256. */
  findSourceByWriteKeyHash(writeKeyHash: string): Promise<SourceRef | undefined>;
}

/**
 * How ingest hands message bodies to the raw queue. Resolves only once the queue accepted every
 * body; throws an `IngestError` (a `DependencyError` when retrying later may work) otherwise.
 */
export interface RawQueueSender {
  send(bodies: readonly string[], meta: RawMessageMeta): Promise<void>;
}

export interface IngestPorts {
  credentials: CredentialLookup;
  queue: RawQueueSender;
  /** Largest message body to write; defaults to the raw queue's limit minus attribute headroom. */
  maxMessageBytes?: number;
  /** The sources this function serves (default: the ingest function's, `sources/registry.ts`). */
  sources?: FunctionSources;
  /** The Stripe SDK client for a Stripe source's API key (default: Stripe's API). */
  stripeClient?: (apiKey: string) => Stripe;
}

/** What is known about a request, for its log line. Never credentials or payload contents. */
export interface IngestFacts {
  /** The kind of the source the request came to (`sources/registry.ts`). */
  route?: SourceKind;
  workspaceId?: string;
  source?: string;
  /** Calls in the request (once it parsed). */
  events: number;
  /** Raw queue messages written. */
  messages: number;
  /** Events acknowledged but not queued: a source's event types that change nothing (Stripe's others). */
  ignored?: number;
  /** Calls refused on their own (id rules, `delete` from an origin that may not send it). */
  refused?: number;
  /** Request body bytes, as received. */
  bytes: number;
  /** Body bytes once its Content-Encoding was undone, when it had one. */
  decodedBytes?: number;
}

/**
 * The outcome of a request. `ok` with `refused` calls listed: the other calls were queued, the
 * refused ones were not (a batch answer lists them).
 */
export type IngestResult =
  | { ok: true; facts: IngestFacts; accepted: number; refused: ItemProblem[] }
  | { ok: false; error: IngestError; facts: IngestFacts };

/**
 * Receives one ingest request: routes it to its source (`sources/registry.ts`), checks its size
 * before parsing (and again while undoing a Content-Encoding), lets the source authenticate it
 * (webhook signature and bearer token, tracking API write key) and read and check its calls, splits
 * the calls into raw queue messages and sends them. `ok` only once the queue accepted every
 * message. Failures that are the caller's or a dependency's come back as `IngestError`s; anything
 * else is a bug and is thrown.
 *
 * @example
 * const result = await receiveIngestRequest(request, { credentials, queue });
 * if (!result.ok) return errorAnswer(result.error);
 */
export async function receiveIngestRequest(received: HttpRequest, ports: IngestPorts): Promise<IngestResult> {
  const facts: IngestFacts = { events: 0, messages: 0, bytes: received.body.byteLength };
  let request = received;
  try {
    const matched = matchIngestRoute(request.path, ports.sources);
    if (!matched) throw new NotFoundError("route.not_found", `No ingest endpoint at ${request.path}`);
    if (request.method.toUpperCase() !== "POST") {
      throw new ValidationError("request.method_not_allowed", "Ingest endpoints take POST");
    }
    facts.route = matched.route.kind;
    const limits = matched.limits;
    checkRequestSize(request.body, limits.maxRequestBytes);
    checkContentType(request.headers["content-type"]);
    // A compressed body is inflated (under the same cap) before the signature and the parser see
    // it: Segment's signature is over the JSON, and the limits are on what a sender meant to send.
    // An unsupported coding is refused here, before any credential is looked up.
    if (request.headers["content-encoding"] !== undefined) {
      const body = decodeContent(request.body, request.headers["content-encoding"], limits.maxRequestBytes);
      facts.decodedBytes = body.byteLength;
      request = { ...request, body };
    }

    // The source verifies the request and reads it into the calls to queue (`sources/`).
    const { workspaceId, source, calls, refused, measures } = await matched.receive(request, {
      credentials: ports.credentials,
      facts,
      stripeClient: ports.stripeClient,
    });
    if (refused.length > 0) facts.refused = refused.length;
    const meta: RawMessageMeta = {
      workspaceId,
      source,
      receivedAt: isoTime(request.receivedAt),
      requestId: request.requestId,
      route: matched.route.kind,
    };
    const bodies = splitBatch(calls, meta, ports.maxMessageBytes ?? maxRawMessageBodyBytes, measures);
    await ports.queue.send(bodies, meta);
    facts.messages = bodies.length;
    return { ok: true, facts, accepted: calls.length, refused };
  } catch (error) {
    if (error instanceof IngestError) return { ok: false, error, facts };
    throw error;
  }
}
