import {
  CatalogApi,
  type DestinationMetadataV1,
  type DestinationSubscription,
  DestinationsApi,
  type DestinationV1,
  type HttpError,
  SourcesApi,
} from "@segment/public-api-sdk-typescript";
import { AuthError, DependencyError, IngestError, NotFoundError } from "../../../core/src/errors";

/**
 * The few Segment Public API operations `segment connect` needs, through Segment's own SDK
 * (`@segment/public-api-sdk-typescript`). Each call declares the content type Segment's OpenAPI
 * document lists for its body, and a 429 (the subscriptions endpoints are rate limited) or a 5xx
 * is retried after `Retry-After` seconds (else a growing wait), a few times, before it is surfaced.
 */

/** Where Segment's Public API is (the EU workspaces' host is `https://eu1.api.segmentapis.com`). */
export const defaultPublicApiUrl = "https://api.segmentapis.com";

/** The Public API is only for some Segment plans: said wherever a call is refused. */
export const tierNote = "Segment's Public API is available on its Team and Business tiers only.";

// The media types Segment's OpenAPI document lists for these bodies (v1 and alpha endpoints).
const v1Json = "application/vnd.segment.v1+json";
const alphaJson = "application/vnd.segment.v1alpha+json";

/** Page size for list calls (Segment allows 1-200). */
const pageSize = 200;

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Wait before retry n (1-based) when Segment gives no Retry-After. */
  backoffMs(retry: number): number;
  /** Longest wait honoured from a Retry-After header. */
  maxWaitMs: number;
  sleep(ms: number): Promise<void>;
}

export const defaultRetryPolicy: RetryPolicy = {
  attempts: 5,
  backoffMs: (retry) => 1000 * 2 ** (retry - 1),
  maxWaitMs: 60_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface PublicApiOptions {
  token: string;
  baseUrl?: string;
  retry?: RetryPolicy;
  /** Called before each wait, e.g. to tell the user that Segment rate limited a call. */
  onRetry?(operation: string, status: number | undefined, waitMs: number): void;
}

/** Segment's Public API as `segment connect` uses it. */
export class SegmentPublicApi {
  private readonly catalog: CatalogApi;
  private readonly sources: SourcesApi;
  private readonly destinations: DestinationsApi;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: PublicApiOptions) {
    const base = (options.baseUrl ?? defaultPublicApiUrl).replace(/\/$/, "");
    this.catalog = new CatalogApi(base);
    this.sources = new SourcesApi(base);
    this.destinations = new DestinationsApi(base);
    for (const api of [this.catalog, this.sources, this.destinations]) api.accessToken = options.token;
    this.retry = options.retry ?? defaultRetryPolicy;
  }

  /** The catalog entry whose slug is `slug`, looked up page by page. */
  async findCatalogDestination(slug: string): Promise<DestinationMetadataV1 | undefined> {
    const catalog = await this.pages(
      "getDestinationsCatalog",
      async (page) => {
        const { body } = await this.catalog.getDestinationsCatalog(page);
        return { items: body.data?.destinationsCatalog ?? [], next: body.data?.pagination.next };
      },
      (d) => d.slug === slug,
    );
    return catalog.find((d) => d.slug === slug);
  }

  /** The Segment source's name and slug; a clear error when the token cannot see it. */
  async getSource(sourceId: string): Promise<{ id: string; name: string; slug: string }> {
    const { body } = await this.call("getSource", () => this.sources.getSource(sourceId));
    const source = body.data?.source;
    if (!source) throw new NotFoundError("segment_api.source_not_found", `Segment has no source ${sourceId}`);
    return { id: source.id, name: source.name ?? source.slug, slug: source.slug };
  }

  /** Every destination connected to the source. */
  async connectedDestinations(sourceId: string): Promise<DestinationV1[]> {
    return this.pages("listConnectedDestinationsFromSource", async (page) => {
      const { body } = await this.sources.listConnectedDestinationsFromSource(sourceId, page);
      return { items: body.data?.destinations ?? [], next: body.data?.pagination.next };
    });
  }

  async createDestination(input: {
    sourceId: string;
    metadataId: string;
    name: string;
    settings: Record<string, unknown>;
  }): Promise<DestinationV1> {
    const { body } = await this.call("createDestination", () =>
      this.destinations.createDestination({ ...input, enabled: true }, typed(v1Json)),
    );
    return required(body.data?.destination, "createDestination");
  }

  async updateDestination(id: string, input: { name: string; settings: Record<string, unknown> }) {
    const { body } = await this.call("updateDestination", () =>
      this.destinations.updateDestination(id, { ...input, enabled: true }, typed(v1Json)),
    );
    return required(body.data?.destination, "updateDestination");
  }

  async subscriptions(destinationId: string): Promise<DestinationSubscription[]> {
    return this.pages("listSubscriptionsFromDestination", async (page) => {
      const { body } = await this.destinations.listSubscriptionsFromDestination(destinationId, page);
      return { items: body.data?.subscriptions ?? [], next: body.data?.pagination?.next };
    });
  }

  async createSubscription(destinationId: string, input: SubscriptionInput): Promise<DestinationSubscription> {
    const { body } = await this.call("createDestinationSubscription", () =>
      this.destinations.createDestinationSubscription(destinationId, { ...input, enabled: true }, typed(alphaJson)),
    );
    return required(body.data?.destinationSubscription, "createDestinationSubscription");
  }

  async updateSubscription(destinationId: string, id: string, input: Omit<SubscriptionInput, "actionId">) {
    const { body } = await this.call("updateSubscriptionForDestination", () =>
      this.destinations.updateSubscriptionForDestination(
        destinationId,
        id,
        { input: { ...input, enabled: true } },
        typed(alphaJson),
      ),
    );
    return required(body.data?.subscription, "updateSubscriptionForDestination");
  }

  /** Every page of a list operation (each page one retried call), or up to the first page with an item `until` wants. */
  private async pages<T>(
    operation: string,
    send: (page: { count: number; cursor?: string }) => Promise<{ items: T[]; next?: string | null }>,
    until?: (item: T) => boolean,
  ): Promise<T[]> {
    const found: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.call(operation, () => send({ count: pageSize, cursor }));
      found.push(...page.items);
      if (until && page.items.some(until)) break;
      cursor = page.next ?? undefined;
    } while (cursor);
    return found;
  }

  /** One SDK call, retried on 429 and 5xx; other failures become errors with a stable code. */
  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (error) {
        const status = isHttpError(error) ? error.statusCode : undefined;
        const transient = status === 429 || (status !== undefined && status >= 500);
        if (!transient || attempt >= this.retry.attempts) throw publicApiError(operation, error);
        const waitMs = waitBeforeRetry(error as HttpError, attempt, this.retry);
        this.options.onRetry?.(operation, status, waitMs);
        await this.retry.sleep(waitMs);
      }
    }
  }
}

export interface SubscriptionInput {
  name: string;
  actionId: string;
  trigger: string;
  settings: Record<string, unknown>;
}

/**
 * The SDK's HttpError, recognised by shape: the package can be loaded twice (its CommonJS build
 * through an ESM loader), and then `instanceof` fails for the copy that threw.
 */
function isHttpError(error: unknown): error is HttpError {
  return error instanceof Error && error.name === "HttpError" && "response" in error;
}

function typed(contentType: string) {
  return { headers: { "Content-Type": contentType } };
}

function required<T>(value: T | undefined, operation: string): T {
  if (value === undefined) throw new DependencyError("segment_api.bad_answer", `${operation}: Segment sent no data`);
  return value;
}

/** Retry-After in seconds (or an HTTP date), capped; else the policy's backoff. */
function waitBeforeRetry(error: HttpError, retry: number, policy: RetryPolicy): number {
  const header = error.response?.headers?.["retry-after"];
  const value = Array.isArray(header) ? header[0] : header;
  if (value !== undefined && value !== "") {
    const seconds = Number(value);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
    if (Number.isFinite(ms)) return Math.min(Math.max(ms, 0), policy.maxWaitMs);
  }
  return policy.backoffMs(retry);
}

/** Segment's answer as an error: its own messages, and the tier note where access is refused. */
function publicApiError(operation: string, error: unknown): IngestError {
  if (!isHttpError(error)) {
    const message = error instanceof Error ? error.message : String(error);
    return new DependencyError("segment_api.unreachable", `${operation}: ${message}`, { cause: error });
  }
  const status = error.statusCode;
  const said = segmentMessages(error.body);
  const detail = `${operation}: Segment answered ${status}${said ? ` (${said})` : ""}`;
  if (status === 401 || status === 403) {
    return new AuthError(
      "segment_api.unauthorized",
      `${detail}. Check the token (a Public API token of this workspace, with access to the source). ${tierNote}`,
      { cause: error },
    );
  }
  if (status === 404) return new NotFoundError("segment_api.not_found", detail, { cause: error });
  if (status === 429) return new DependencyError("segment_api.rate_limited", `${detail}; try again later`);
  if (status !== undefined && status >= 500) return new DependencyError("segment_api.unavailable", detail);
  return new IngestError("segment_api.refused", detail, { cause: error });
}

function segmentMessages(body: unknown): string {
  const errors = (body as { errors?: { message?: unknown }[] } | undefined)?.errors;
  if (!Array.isArray(errors)) return "";
  return errors
    .map((e) => (typeof e?.message === "string" ? e.message : ""))
    .filter(Boolean)
    .join("; ");
}
