import { AsyncLocalStorage } from "node:async_hooks";
import type { SendMessageBatchCommandInput, SendMessageBatchResultEntry, SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { Random } from "./seeded-random";

/**
 * Fault injection for the reliability tests, in front of the real DynamoDB Local and fauxqs:
 * middleware on an SDK client that fails some requests the way AWS does, and a wrapper around the
 * normalize handler that "kills" the worker in the middle of a batch. Every decision is drawn from
 * a seeded PRNG and counted, so a test can print what it injected and assert that it did.
 *
 * The middleware sits in the `initialize` step, outside the SDK's own retry middleware: every
 * injected fault reaches our code (the ingest's SQS sender, the normalize pipeline) instead of being
 * absorbed by an SDK retry.
 */

/** What was injected so far. */
export interface FaultCounts {
  /** SendMessageBatch entries answered as Failed (not queued). */
  sqsFailedEntries: number;
  /** SendMessageBatch calls that threw a 5xx before reaching the queue. */
  sqsErrors: number;
  /** SendMessageBatch calls that reached the queue and then threw a 5xx (the answer was lost). */
  sqsLostAnswers: number;
  /** DynamoDB requests refused with ThrottlingException (not applied). */
  dynamoThrottles: number;
  /** DynamoDB requests that timed out after being applied (TimeoutError, the answer lost). */
  dynamoTimeouts: number;
  /** Normalize invocations killed after some storage requests. */
  killedMidBatch: number;
  /** Normalize invocations killed after their work, before reporting. */
  killedBeforeReport: number;
}

export function noFaults(): FaultCounts {
  return {
    sqsFailedEntries: 0,
    sqsErrors: 0,
    sqsLostAnswers: 0,
    dynamoThrottles: 0,
    dynamoTimeouts: 0,
    killedMidBatch: 0,
    killedBeforeReport: 0,
  };
}

/** An SQS server error as the SDK surfaces it (5xx, retryable). */
function sqsServerError(): Error {
  return Object.assign(new Error("We encountered an internal error. Please try again. (injected)"), {
    name: "InternalError",
    $fault: "server",
    $metadata: { httpStatusCode: 500 },
  });
}

export interface SqsFaultRates {
  /** Chance that a SendMessageBatch call throws a 5xx before anything is queued. */
  error: number;
  /** Chance that a call is applied and then throws a 5xx (its messages are queued). */
  lostAnswer: number;
  /** Chance, per entry, that the entry comes back in `Failed` (InternalError, not the sender's fault). */
  failedEntry: number;
}

/**
 * Makes SendMessageBatch calls of an SQS client fail at the given rates: whole calls throwing 5xx
 * (before or after they reach the queue) and single entries answered as Failed.
 *
 * @example
 * injectSqsSendFaults(sqs, prng(1), { error: 0.1, lostAnswer: 0.05, failedEntry: 0.1 }, counts);
 */
export function injectSqsSendFaults(sqs: SQSClient, r: Random, rates: SqsFaultRates, counts: FaultCounts): void {
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== "SendMessageBatchCommand") return next(args);
      const x = r.next();
      if (x < rates.error) {
        counts.sqsErrors++;
        throw sqsServerError();
      }
      const input = args.input as SendMessageBatchCommandInput;
      const entries = input.Entries ?? [];
      const failing = new Set(entries.filter(() => r.chance(rates.failedEntry)).map((e) => e.Id));
      counts.sqsFailedEntries += failing.size;
      const kept = entries.filter((e) => !failing.has(e.Id));
      const result =
        kept.length > 0
          ? await next({ ...args, input: { ...input, Entries: kept } })
          : { output: { Successful: [], $metadata: {} }, response: undefined };
      if (x < rates.error + rates.lostAnswer) {
        counts.sqsLostAnswers++;
        throw sqsServerError();
      }
      const output = result.output as unknown as { Failed?: SendMessageBatchResultEntry[] };
      const failed = [...failing].map((Id) => ({ Id, Code: "InternalError", SenderFault: false, Message: "injected" }));
      return { ...result, output: { ...output, Failed: [...(output.Failed ?? []), ...failed] } } as typeof result;
    },
    { step: "initialize", name: "injectSqsSendFaults", priority: "high" },
  );
}

/** One normalize invocation's fault plan, seen by the DynamoDB middleware through async context. */
interface Invocation {
  /** False once any record has been received more than `maxFaultyReceive` times. */
  faultsAllowed: boolean;
  /** Storage requests made so far. */
  requests: number;
  /** Kill the worker when it makes this many more storage requests. */
  killAfterRequests?: number;
  killed: boolean;
  onKill?: () => void;
}

const invocation = new AsyncLocalStorage<Invocation>();

/** A DynamoDB throttling error as the SDK surfaces it. */
function throttling(): Error {
  return Object.assign(new Error("Rate of requests exceeds the allowed throughput. (injected)"), {
    name: "ThrottlingException",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
  });
}

/** The SDK's request timeout (no HTTP answer, so no status). */
function timeout(): Error {
  return Object.assign(new Error("Connection timed out after 1000 ms (injected)"), { name: "TimeoutError" });
}

/** What a killed worker's leftover requests see: the process is gone, nothing more reaches DynamoDB. */
function killed(): Error {
  return Object.assign(new Error("worker killed (injected)"), { name: "WorkerKilled" });
}

export interface DynamoFaultRates {
  /** Chance per request of a ThrottlingException before the request is applied. */
  throttle: number;
  /** Chance per request of a TimeoutError after the request was applied (the answer is lost). */
  timeout: number;
}

/**
 * Makes requests of a DynamoDB client fail at the given rates while a normalize invocation wrapped
 * by `killableNormalizeHandler` allows faults, and carries out that wrapper's kills: once a worker
 * is killed, none of its later requests reaches DynamoDB.
 *
 * @example
 * injectDynamoFaults(db, prng(2), { throttle: 0.01, timeout: 0.005 }, counts);
 */
export function injectDynamoFaults(
  db: DynamoDBDocumentClient,
  r: Random,
  rates: DynamoFaultRates,
  counts: FaultCounts,
): void {
  db.middlewareStack.add(
    (next) => async (args) => {
      const current = invocation.getStore();
      if (!current) return next(args);
      if (current.killed) throw killed();
      current.requests++;
      if (current.killAfterRequests !== undefined && current.requests > current.killAfterRequests) {
        current.killed = true;
        current.onKill?.();
        throw killed();
      }
      if (!current.faultsAllowed) return next(args);
      const x = r.next();
      if (x < rates.throttle) {
        counts.dynamoThrottles++;
        throw throttling();
      }
      const result = await next(args);
      if (x < rates.throttle + rates.timeout) {
        counts.dynamoTimeouts++;
        throw timeout();
      }
      return result;
    },
    { step: "initialize", name: "injectDynamoFaults", priority: "high" },
  );
}

export interface KillRates {
  /** Chance per invocation of a kill after a random number (0-`maxRequestsBeforeKill`) of storage requests. */
  midBatch: number;
  /** Chance per invocation of a kill after the work is done, before the answer reaches SQS. */
  beforeReport: number;
  maxRequestsBeforeKill: number;
  /**
   * Faults (these and the DynamoDB ones) only while every record of the batch has been received at
   * most this many times, so each message keeps fault-free deliveries before the redrive policy's
   * limit: a message in the DLQ is then a bug, not bad luck.
   */
  maxFaultyReceive: number;
}

type NormalizeLambda = (event: SQSEvent) => Promise<SQSBatchResponse>;

/**
 * Wraps the normalize handler like a Lambda worker that can die: for some invocations the worker
 * is killed after part of the work (its remaining storage requests never happen) or after all of
 * it, and in both cases no answer reaches the poller, which then neither deletes the messages nor
 * changes their visibility: they come back after the queue's visibility timeout, as from a dead
 * Lambda. `settled()` waits for every killed worker's leftovers to finish.
 *
 * @example
 * const worker = killableNormalizeHandler(createNormalizeHandler({ store }), prng(3), rates, counts);
 * await startPoller({ sqs, queueUrl, handler: worker.handler });
 */
export function killableNormalizeHandler(
  handler: NormalizeLambda,
  r: Random,
  rates: KillRates,
  counts: FaultCounts,
): { handler: NormalizeLambda; settled(): Promise<void>; maxReceiveCount(): number } {
  const leftovers = new Set<Promise<unknown>>();
  let maxReceive = 0;
  return {
    async handler(event) {
      const receives = event.Records.map((record) => Number(record.attributes.ApproximateReceiveCount));
      maxReceive = Math.max(maxReceive, ...receives);
      const context: Invocation = {
        faultsAllowed: Math.max(...receives) <= rates.maxFaultyReceive,
        requests: 0,
        killed: false,
      };
      const x = context.faultsAllowed ? r.next() : 1;
      if (x < rates.midBatch) context.killAfterRequests = r.int(rates.maxRequestsBeforeKill + 1);
      const died = new Promise<never>((_, reject) => {
        context.onKill = () => reject(killed());
      });
      died.catch(() => {});
      const work = invocation.run(context, () => handler(event));
      if (context.killAfterRequests !== undefined) {
        counts.killedMidBatch++;
        const leftover = work.catch(() => {}).finally(() => leftovers.delete(leftover));
        leftovers.add(leftover);
        await Promise.race([work, died]);
        // The worker got through its batch before the chosen request: it dies before reporting.
        throw new Error("normalize worker killed mid-batch (injected)");
      }
      const answer = await work;
      if (x < rates.midBatch + rates.beforeReport) {
        counts.killedBeforeReport++;
        throw new Error("normalize worker killed before reporting (injected)");
      }
      return answer;
    },
    async settled() {
      while (leftovers.size > 0) await Promise.all([...leftovers]);
    },
    maxReceiveCount: () => maxReceive,
  };
}
