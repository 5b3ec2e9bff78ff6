import { AuthError, IngestError, NotFoundError, ValidationError } from "../errors";
import type { HttpRequest } from "../http/request";
import type { ItemProblem } from "../http/status";
import { credentialMatches, hashCredential } from "../workspace/credentials";
import type { Source, SourceRef } from "../workspace/workspace";
import { bearerToken, parseBasicAuth } from "./authorization";
import { checkContentType, checkRequestSize, parseJsonBody } from "./body";
import { admitCalls, type CallOrigin, trackingOrigin, webhookOrigin } from "./call-admission";
import { checkCalls } from "./calls";
import { correctClockSkew } from "./clock-skew";
import { decodeContent } from "./content-encoding";
import { maxRawMessageBodyBytes, requestLimits } from "./limits";
import { ingestRoute } from "./routes";
import { isJsonArrayText, segmentSignatureCoverage } from "./signature";
import { type RawMessageMeta, splitBatch } from "./split-batch";
import { trackingPayload } from "./tracking";

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
}

/** What is known about a request, for its log line. Never credentials or payload contents. */
export interface IngestFacts {
  route?: "webhook" | "tracking";
  workspaceId?: string;
  source?: string;
  /** Calls in the request (once it parsed). */
  events: number;
  /** Raw queue messages written. */
  messages: number;
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

const unknownSource = () => new NotFoundError("workspace.not_found", "Unknown workspace or source");

/** Webhook: the source from the path, the signature (and bearer token) over the raw body. */
async function webhookCalls(
  request: HttpRequest,
  route: { workspaceId: string; source: string },
  credentials: CredentialLookup,
): Promise<{ calls: unknown[]; single: boolean; origin: CallOrigin }> {
  const source = await credentials.findSource(route.workspaceId, route.source);
  if (!source) throw unknownSource();

  const signature = request.headers["x-signature"];
  if (!signature) throw new AuthError("segment.signature_missing", "X-Signature header is missing");
  const secrets = source.secrets.map((s) => s.value);
  // An array body may be signed on its first element only (Actions batching): parse it once here,
  // for the signature and for the calls. A parse failure counts as a wrong signature first.
  let parsed: unknown;
  let parseFailure: unknown;
  if (isJsonArrayText(request.body)) {
    try {
      parsed = parseJsonBody(request.body);
    } catch (error) {
      parseFailure = error;
    }
  }
  const coverage = segmentSignatureCoverage(request.body, signature, secrets, parsed);
  if (coverage === undefined) {
    throw new AuthError("segment.signature_invalid", "X-Signature does not match the body and the shared secret");
  }
  if (source.bearerTokenHash !== undefined) {
    const token = bearerToken(request.headers.authorization);
    if (token === undefined || !credentialMatches(token, source.bearerTokenHash)) {
      throw new AuthError("auth.bearer_invalid", "This source requires its Authorization: Bearer token");
    }
  }
  if (parseFailure !== undefined) throw parseFailure;
  const body = parsed ?? parseJsonBody(request.body);
  const origin = webhookOrigin(coverage, source.bearerTokenHash !== undefined);
  return Array.isArray(body) ? { calls: body, single: false, origin } : { calls: [body], single: true, origin };
}

/** Tracking API: the source from the write key (Basic auth, else the body). */
async function trackingCalls(
  request: HttpRequest,
  call: Parameters<typeof trackingPayload>[0],
  credentials: CredentialLookup,
): Promise<{ calls: unknown[]; ref: SourceRef }> {
  const payload = trackingPayload(call, parseJsonBody(request.body));
  const writeKey = parseBasicAuth(request.headers.authorization)?.username || payload.writeKey;
  if (!writeKey) {
    throw new AuthError(
      "auth.write_key_missing",
      "Send the write key as HTTP Basic auth (`writeKey:`) or as `writeKey` in the body",
    );
  }
  const ref = await credentials.findSourceByWriteKeyHash(hashCredential(writeKey));
  if (!ref) throw new AuthError("auth.write_key_invalid", "Unknown write key");
  return { calls: payload.calls, ref };
}

/**
 * Receives one ingest request: routes it, checks its size before parsing (and again while
 * undoing a Content-Encoding), authenticates it
 * (webhook signature and bearer token, or tracking API write key), validates every call, splits
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
    const route = ingestRoute(request.path);
    if (!route) throw new NotFoundError("route.not_found", `No ingest endpoint at ${request.path}`);
    if (request.method.toUpperCase() !== "POST") {
      throw new ValidationError("request.method_not_allowed", "Ingest endpoints take POST");
    }
    facts.route = route.kind;
    const limits = requestLimits[route.kind];
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

    let sent: unknown[];
    let ref: SourceRef;
    let single: boolean;
    let origin: CallOrigin;
    if (route.kind === "webhook") {
      ref = { workspaceId: route.workspaceId, source: route.source };
      facts.workspaceId = ref.workspaceId;
      facts.source = ref.source;
      ({ calls: sent, single, origin } = await webhookCalls(request, route, ports.credentials));
    } else {
      ({ calls: sent, ref } = await trackingCalls(request, route.call, ports.credentials));
      facts.workspaceId = ref.workspaceId;
      facts.source = ref.source;
      single = route.call !== "batch";
      origin = trackingOrigin;
    }
    facts.events = sent.length;

    const admission = admitCalls(checkCalls(sent, limits.maxEventsPerBatch), origin, single);
    const { refused } = admission;
    if (refused.length > 0) facts.refused = refused.length;
    // Segment's servers correct a client's clock on the tracking API; webhook deliveries come
    // from Segment already corrected.
    const calls =
      route.kind === "tracking"
        ? admission.admitted.map((call) => correctClockSkew(call, request.receivedAt))
        : admission.admitted;
    const meta: RawMessageMeta = {
      workspaceId: ref.workspaceId,
      source: ref.source,
      receivedAt: request.receivedAt.toISOString(),
      requestId: request.requestId,
      route: route.kind,
    };
    const bodies = splitBatch(calls, meta, ports.maxMessageBytes ?? maxRawMessageBodyBytes);
    await ports.queue.send(bodies, meta);
    facts.messages = bodies.length;
    return { ok: true, facts, accepted: calls.length, refused };
  } catch (error) {
    if (error instanceof IngestError) return { ok: false, error, facts };
    throw error;
  }
}
