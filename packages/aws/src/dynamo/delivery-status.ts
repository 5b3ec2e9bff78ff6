import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { isoTime } from "../../../core/src/ingest/iso-time";
import {
  type DayCounters,
  type Delivery,
  dayOf,
  dayStartMs,
  deliveryRetentionDays,
  signedKinds,
  slotOf,
} from "../../../core/src/sources/delivery-status";
import { keys } from "./keys";
import { storageCall } from "./storage-error";

/**
 * Delivery counters in the Entities table: one item per source and UTC day, written with a single
 * UpdateItem (ADD and SET, no read first) per ingest request, and read as the newest two items.
 *
 * Attributes: `accepted`, `m<slot>` (accepted calls per five-minute slot), `sig_failures`,
 * `rejected_calls`, `r_<code>` (refused requests by error code), `last_delivery_at`,
 * `last_signed_at`, `last_refused_at`, `expires_at` (TTL). At most 288 slots and a handful of
 * codes: a few KB.
 */
export class DeliveryStatusStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Adds one request to its source's counters of the day; `abortSignal` gives the write up (the
   * SDK's retries included) when the caller cannot wait longer.
   *
   * @example
   * await store.record(deliveryOf(outcome, new Date()));
   */
  async record(delivery: Delivery, options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    const at = isoTime(delivery.at);
    const day = dayOf(delivery.at);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {
      ":exp": Math.floor(dayStartMs(delivery.at) / 1000) + deliveryRetentionDays * 86_400,
    };
    const set = ["expires_at = :exp"];
    const add: string[] = [];
    if (delivery.refusedCode === undefined) {
      values[":at"] = at;
      set.push("last_delivery_at = :at");
      if (signedKinds.has(delivery.route)) set.push("last_signed_at = :at");
      values[":n"] = delivery.accepted;
      names["#slot"] = `m${slotOf(delivery.at)}`;
      add.push("accepted :n", "#slot :n");
      if (delivery.rejectedCalls > 0) {
        values[":rejected"] = delivery.rejectedCalls;
        add.push("rejected_calls :rejected");
      }
    } else {
      values[":at"] = at;
      values[":one"] = 1;
      set.push("last_refused_at = :at");
      names["#code"] = `r_${delivery.refusedCode}`;
      add.push("#code :one");
      if (delivery.signatureFailure) add.push("sig_failures :one");
    }
    await storageCall("UpdateItem delivery counters", () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.deliveryDay(delivery.workspaceId, delivery.source, day),
          UpdateExpression: `SET ${set.join(", ")} ADD ${add.join(", ")}`,
          ExpressionAttributeNames: Object.keys(names).length > 0 ? names : undefined,
          ExpressionAttributeValues: values,
        }),
        { abortSignal: options.abortSignal },
      ),
    );
  }

  /** The newest two days' counters of a source (today's and the day before, when they exist). */
  async recentDays(workspaceId: string, source: string): Promise<DayCounters[]> {
    const { pk, skPrefix } = keys.deliveryDays(workspaceId, source);
    const answer = await storageCall("Query delivery counters", () =>
      this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": pk, ":prefix": skPrefix },
          ScanIndexForward: false,
          Limit: 2,
        }),
      ),
    );
    return (answer.Items ?? []).map((item) => countersOf(item, skPrefix));
  }
}

function countersOf(item: Record<string, unknown>, prefix: string): DayCounters {
  const slots: Record<number, number> = {};
  const refusedByCode: Record<string, number> = {};
  for (const [name, value] of Object.entries(item)) {
    if (typeof value !== "number") continue;
    if (/^m\d+$/.test(name)) slots[Number(name.slice(1))] = value;
    else if (name.startsWith("r_")) refusedByCode[name.slice(2)] = value;
  }
  const text = (name: string) => (typeof item[name] === "string" ? (item[name] as string) : undefined);
  const count = (name: string) => (typeof item[name] === "number" ? (item[name] as number) : undefined);
  return {
    day: String(item.sk).slice(prefix.length),
    accepted: count("accepted"),
    slots,
    signatureFailures: count("sig_failures"),
    rejectedCalls: count("rejected_calls"),
    refusedByCode,
    lastDeliveryAt: text("last_delivery_at"),
    lastSignedDeliveryAt: text("last_signed_at"),
    lastRefusedAt: text("last_refused_at"),
  };
}
