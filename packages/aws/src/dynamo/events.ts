import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import {
  type EventVersion,
  type StoredEvent,
  scopedKey,
  type UserMonths,
} from "../../../core/src/pipeline/model-store";
import { type Gathered, gatheredStatements } from "./gathered";
import { type Key, keys, monthOf } from "./keys";
import { marksOfItem, monthsOfItem } from "./last-seen";
import type { ProfileStore, TableNames } from "./profiles";
import { batchGet, ifCondition, insertStatement, queryAll, type Statement } from "./table-ops";

/** Conditional event puts run this many at a time (BatchWriteItem has no conditions). */
const PUT_CONCURRENCY = 8;

/** Where an insert may write: a free id, or the same call again (a legacy event has no hash). */
const INSERT_CONDITION = "attribute_not_exists(pk) OR attribute_not_exists(content_hash) OR content_hash = :h";

/** The stored form of an event: its fields plus the keys of the table and its two indexes. */
export function eventItem(event: StoredEvent): Record<string, unknown> {
  const ws = event.workspace_id;
  const order = keys.eventOrder(event.timestamp, event.event_id);
  const month = monthOf(event.timestamp);
  return {
    ...keys.event(ws, event.event_id),
    ...event,
    ...(event.account_id !== null ? { ...keys.accountEvents(ws, event.account_id, month), ask: order } : {}),
    ...(event.user_id !== null
      ? { ...keys.userEvents(ws, event.user_id, month), usk: order }
      : event.anonymous_id !== null
        ? { ...keys.anonymousEvents(ws, event.anonymous_id), usk: order }
        : {}),
  };
}

/** Strips the key attributes from a stored event item. */
export function eventFromItem(item: Record<string, unknown>): StoredEvent {
  const { pk: _pk, sk: _sk, apk: _apk, ask: _ask, upk: _upk, usk: _usk, ...event } = item;
  return event as unknown as StoredEvent;
}

/**
 * Events in the Events table: keyed by workspace and event id (a duplicate finds itself), indexed
 * by account and by user (or anonymous id) per month.
 */
export class EventStore {
  /** Event INSERTs, gathered 25 a request across callers, each settled on its own (see `insertEvents`). */
  private readonly inserts: Gathered<Statement, boolean>;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: TableNames,
    private readonly profiles: ProfileStore,
  ) {
    this.inserts = gatheredStatements(db, "event write");
  }

  async existingEvents(workspaceId: string, eventIds: string[]): Promise<Map<string, EventVersion>> {
    const items = await batchGet(
      this.db,
      this.tables.eventsTable,
      eventIds.map((id) => keys.event(workspaceId, id)),
      {
        consistent: true,
        projection: "event_id, #type, event_name, #ts, user_id, account_id, #src, content_hash",
        names: { "#type": "type", "#ts": "timestamp", "#src": "source" },
      },
    );
    return new Map(
      items.map((item) => [
        item.event_id as string,
        {
          event_id: item.event_id as string,
          type: item.type as EventVersion["type"],
          event_name: item.event_name as string,
          timestamp: item.timestamp as string,
          user_id: (item.user_id as string | null | undefined) ?? null,
          account_id: (item.account_id as string | null | undefined) ?? null,
          source: item.source as string,
          ...(typeof item.content_hash === "string" ? { content_hash: item.content_hash } : {}),
        },
      ]),
    );
  }

  async rewriteEvents(events: StoredEvent[]): Promise<void> {
    await this.conditionalPuts(
      events,
      "attribute_exists(pk) AND (attribute_not_exists(content_hash) OR content_hash = :h)",
    );
  }

  /**
   * The events are ones the consistent read found absent, so nearly all ids are free: PartiQL
   * INSERTs, gathered with every other caller's of the same turn (25 a request, each applied or
   * refused on its own, at PutItem's write units): a caller inserting one event at a time, all at
   * once, loses only its own event to a statement DynamoDB keeps throttling or refuses. An id taken
   * since the read (a concurrent normalizer) is decided by the conditional put as before: the same
   * call again overwrites itself, another call's event is reported taken and settled. Throws the
   * first failure among `events`.
   */
  async insertEvents(events: StoredEvent[]): Promise<Set<string>> {
    const inserted = await Promise.all(
      events.map((event) => this.inserts.ask(insertStatement(this.tables.eventsTable, eventItem(event)))),
    );
    return this.conditionalPuts(
      events.filter((_, i) => !inserted[i]),
      INSERT_CONDITION,
    );
  }

  async replaceEvent(event: StoredEvent, expectedHash: string): Promise<boolean> {
    return this.putEventIf(event, "content_hash = :h", expectedHash);
  }

  /** One conditional put per event, a few at a time (rewrites, and inserts whose id was taken since the read); returns the ids whose condition failed. */
  private async conditionalPuts(events: StoredEvent[], condition: string): Promise<Set<string>> {
    // One conditional put each (BatchWriteItem has no conditions): the same write units, more requests.
    const taken = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < events.length) {
        const event = events[next++] as StoredEvent;
        if (!(await this.putEventIf(event, condition, event.content_hash ?? null))) taken.add(event.event_id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PUT_CONCURRENCY, events.length) }, worker));
    return taken;
  }

  /** Writes an event if `condition` (over `:h`) holds; false when it does not. */
  private async putEventIf(event: StoredEvent, condition: string, hash: string | null): Promise<boolean> {
    return ifCondition("event write", () =>
      this.db.send(
        new PutCommand({
          TableName: this.tables.eventsTable,
          Item: eventItem(event),
          ConditionExpression: condition,
          ExpressionAttributeValues: { ":h": hash },
        }),
      ),
    );
  }

  /** The users' months and marks, one consistent BatchGetItem (100 keys a request) for all of them. */
  async userMonths(users: { workspaceId: string; userId: string }[]): Promise<Map<string, UserMonths>> {
    const byKey = new Map(users.map((u) => [JSON.stringify(keys.user(u.workspaceId, u.userId)), u]));
    const items = await batchGet(
      this.db,
      this.tables.entitiesTable,
      [...byKey.keys()].map((k) => JSON.parse(k)),
      { consistent: true, projection: "event_months, from_user_months, from_user_complete" },
    );
    const found = new Map<string, UserMonths>();
    for (const item of items) {
      const user = byKey.get(JSON.stringify({ pk: item.pk, sk: item.sk }));
      if (user)
        found.set(scopedKey(user.workspaceId, user.userId), {
          eventMonths: monthsOfItem(item),
          marks: marksOfItem(item),
        });
    }
    return found;
  }

  async userEventsResolvedFromMemberships(
    workspaceId: string,
    userId: string,
    fromTime: string,
    months: string[],
  ): Promise<StoredEvent[]> {
    return this.userEventsIn(workspaceId, userId, months, {
      from: fromTime,
      filter: "account_from_user = :yes",
      values: { ":yes": true },
    });
  }

  async eventsAttributedByAlias(
    workspaceId: string,
    anonymousId: string,
    userId: string | null,
  ): Promise<StoredEvent[]> {
    if (userId === null) return (await this.anonymousEventItems(workspaceId, anonymousId)).map(eventFromItem);
    return this.userEventsIn(workspaceId, userId, await this.profiles.eventMonths(keys.user(workspaceId, userId)), {
      filter: "anonymous_id = :a AND user_from_alias = :yes",
      values: { ":a": anonymousId, ":yes": true },
    });
  }

  /** Every event item indexed under an anonymous id (events without a user of their own). */
  async anonymousEventItems(workspaceId: string, anonymousId: string): Promise<Record<string, unknown>[]> {
    return queryAll(this.db, {
      TableName: this.tables.eventsTable,
      IndexName: "byUser",
      KeyConditionExpression: "upk = :pk",
      ExpressionAttributeValues: { ":pk": keys.anonymousEvents(workspaceId, anonymousId).upk },
    });
  }

  /** Every event item of a user in one month (byUser index). */
  async userEventItems(workspaceId: string, userId: string, month: string): Promise<Record<string, unknown>[]> {
    return queryAll(this.db, {
      TableName: this.tables.eventsTable,
      IndexName: "byUser",
      KeyConditionExpression: "upk = :pk",
      ExpressionAttributeValues: { ":pk": keys.userEvents(workspaceId, userId, month).upk },
    });
  }

  /** Stored events among these ids that `belongs` accepts (with their keys and account). */
  async knownEvents(
    workspaceId: string,
    eventIds: string[],
    belongs: (event: Record<string, unknown>) => boolean,
  ): Promise<Record<string, unknown>[]> {
    if (eventIds.length === 0) return [];
    const items = await batchGet(
      this.db,
      this.tables.eventsTable,
      eventIds.map((id) => keys.event(workspaceId, id)),
      { consistent: true, projection: "user_id, anonymous_id, user_from_alias, account_id" },
    );
    return items.filter(belongs);
  }

  /** A user's events in the given months (byUser index, one partition a month), filtered. */
  private async userEventsIn(
    workspaceId: string,
    userId: string,
    months: string[],
    query: { from?: string; filter: string; values: Record<string, unknown> },
  ): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    for (const month of months) {
      const items = await queryAll(this.db, {
        TableName: this.tables.eventsTable,
        IndexName: "byUser",
        KeyConditionExpression: query.from === undefined ? "upk = :pk" : "upk = :pk AND usk >= :from",
        FilterExpression: query.filter,
        ExpressionAttributeValues: {
          ":pk": keys.userEvents(workspaceId, userId, month).upk,
          ...(query.from === undefined ? {} : { ":from": query.from }),
          ...query.values,
        },
      });
      events.push(...items.map(eventFromItem));
    }
    return events;
  }
}

/** Gathers the keys of events to delete and the accounts they belonged to. */
export function eventCollector() {
  const accounts = new Set<string>();
  const eventKeys: Key[] = [];
  const collect = (items: Record<string, unknown>[]) => {
    for (const item of items) {
      eventKeys.push({ pk: item.pk as string, sk: item.sk as string });
      if (typeof item.account_id === "string") accounts.add(item.account_id);
    }
  };
  return { accounts, eventKeys, collect };
}
