import type { DeliveryStatus } from "../api/source-schemas";
import { isoDay } from "../ingest/iso-time";
import type { IngestResult } from "../ingest/receive";
import type { SourceKind } from "./kinds";

/**
 * Delivery status of a source, kept as counters: each ingest request that reached a known source
 * adds to one counter item per source and UTC day (one DynamoDB UpdateItem with ADD), and a read
 * sums at most two of those items. Nothing scans events.
 *
 * Calls accepted are also counted per five-minute slot of the day, so "the last hour" is the last
 * twelve slots (it may include up to five minutes more than an hour).
 */

/** What one request did to its source's counters. */
export interface Delivery {
  workspaceId: string;
  source: string;
  at: Date;
  route: SourceKind;
  /** Calls queued (0 for a refused request). */
  accepted: number;
  /** Calls refused on their own inside an accepted request (id rules, `delete` unsigned). */
  rejectedCalls: number;
  /** The error code of a refused request. */
  refusedCode?: string;
  /** A webhook refused for a missing or wrong signature (Segment's X-Signature, Stripe's Stripe-Signature). */
  signatureFailure: boolean;
}

/** Minutes in one counting slot; 288 slots a day. */
export const slotMinutes = 5;
const slotsPerHour = 60 / slotMinutes;

/** How long a day's counters are kept (DynamoDB TTL). */
export const deliveryRetentionDays = 35;

const signatureCodes = new Set([
  "segment.signature_invalid",
  "segment.signature_missing",
  "stripe.signature_invalid",
  "stripe.signature_missing",
  "stripe.signature_expired",
]);

/** The kinds whose accepted requests were signed (webhooks); the tracking API's carry a write key. */
export const signedKinds: ReadonlySet<SourceKind> = new Set<SourceKind>(["webhook", "stripe"]);

/**
 * The delivery an ingest outcome records, or undefined when it reached no known source (an
 * unknown workspace, source or write key, or a request refused before its source was known):
 * counters are only kept for sources that exist, so a stranger cannot create them.
 *
 * @example
 * const delivery = deliveryOf(outcome, new Date());
 * if (delivery) await deliveries.record(delivery);
 */
export function deliveryOf(outcome: IngestResult, at: Date): Delivery | undefined {
  const { workspaceId, source, route } = outcome.facts;
  if (workspaceId === undefined || source === undefined || route === undefined) return undefined;
  if (outcome.ok) {
    return {
      workspaceId,
      source,
      at,
      route,
      accepted: outcome.accepted,
      rejectedCalls: outcome.refused.length,
      signatureFailure: false,
    };
  }
  const code = outcome.error.code;
  if (code === "workspace.not_found") return undefined;
  return {
    workspaceId,
    source,
    at,
    route,
    accepted: 0,
    rejectedCalls: 0,
    refusedCode: code,
    signatureFailure: signatureCodes.has(code),
  };
}

/** The UTC day (`2026-12-01`) of a time. */
export function dayOf(at: Date): string {
  return isoDay(at);
}

/**
 * The start of the UTC day of a time, in ms since the epoch: ``Date.parse(`${dayOf(at)}T00:00:00.000Z`)``,
 * without writing and parsing the text for the years `isoTime` writes itself (outside them, `Date.UTC`
 * reads years 0-99 as 1900-1999 and the parse of a six-digit year differs: those are parsed, as before).
 */
export function dayStartMs(at: Date): number {
  const year = at.getUTCFullYear();
  if (!(year >= 1000 && year <= 9999)) return Date.parse(`${dayOf(at)}T00:00:00.000Z`);
  return Date.UTC(year, at.getUTCMonth(), at.getUTCDate());
}

/** The five-minute slot of the day (0-287) of a time. */
export function slotOf(at: Date): number {
  return Math.floor((at.getUTCHours() * 60 + at.getUTCMinutes()) / slotMinutes);
}

/** One day's counters of a source, as stored. */
export interface DayCounters {
  day: string;
  accepted?: number;
  /** Accepted calls per slot of the day. */
  slots?: Record<number, number>;
  signatureFailures?: number;
  rejectedCalls?: number;
  refusedByCode?: Record<string, number>;
  lastDeliveryAt?: string;
  lastSignedDeliveryAt?: string;
  lastRefusedAt?: string;
}

const latest = (a: string | undefined, b: string | undefined) =>
  a === undefined || (b !== undefined && b > a) ? b : a;

/**
 * A source's status at `now` from its counter items (today's and yesterday's are enough; others
 * only give the last times).
 *
 * @example
 * const status = deliveryStatus(await store.recentDays(ws, source), new Date());
 */
export function deliveryStatus(days: readonly DayCounters[], now: Date): DeliveryStatus {
  const today = dayOf(now);
  const yesterday = dayOf(new Date(now.getTime() - 86_400_000));
  const current = days.find((d) => d.day === today);
  const previous = days.find((d) => d.day === yesterday);
  const slot = slotOf(now);
  let lastHour = 0;
  for (let back = 0; back < slotsPerHour; back++) {
    const s = slot - back;
    lastHour += s >= 0 ? (current?.slots?.[s] ?? 0) : (previous?.slots?.[s + 24 * slotsPerHour] ?? 0);
  }
  let lastDelivery: string | undefined;
  let lastSigned: string | undefined;
  let lastRefused: string | undefined;
  for (const d of days) {
    lastDelivery = latest(lastDelivery, d.lastDeliveryAt);
    lastSigned = latest(lastSigned, d.lastSignedDeliveryAt);
    lastRefused = latest(lastRefused, d.lastRefusedAt);
  }
  return {
    last_delivery_at: lastDelivery ?? null,
    last_signed_delivery_at: lastSigned ?? null,
    last_refused_at: lastRefused ?? null,
    calls_accepted_today: current?.accepted ?? 0,
    calls_accepted_last_hour: lastHour,
    signature_failures_today: current?.signatureFailures ?? 0,
    refused_today_by_code: { ...(current?.refusedByCode ?? {}) },
    rejected_calls_today: current?.rejectedCalls ?? 0,
  };
}
