/**
 * Dollars per million events on AWS, from figures measured in the same bench run: ingest and
 * normalize CPU per event, DynamoDB units per event (as DynamoDB Local reported them), message
 * sizes and log bytes per event, priced with the public us-east-1 list prices below. Free tiers are
 * left out. Lambda duration is taken from measured CPU time (rounded up to 1 ms per invocation), so
 * time spent waiting on SQS and DynamoDB round trips on AWS is not in it: the Lambda figures are a
 * floor for that line, not a forecast.
 */
import { functionSettings } from "../packages/resources/src/definitions";

/** Public list prices, us-east-1. */
export const prices = {
  asOf: "2026-12-01",
  note: "us-east-1 list prices as of 2026-12-01, from the public pricing pages (free tiers ignored); check before relying on them",
  /** API Gateway HTTP API, per million requests (first 300 million a month); each 512 KB of a request counts as one. */
  httpApiPerMillion: 1.0,
  /** Lambda, per million requests. */
  lambdaRequestsPerMillion: 0.2,
  /** Lambda on arm64 (Graviton), per GB-second (first 7.5 billion GB-s a month). */
  lambdaArmPerGbSecond: 0.0000133334,
  /** SQS standard queue, per million requests; each 64 KB chunk of a payload counts as one request. */
  sqsPerMillion: 0.4,
  /** DynamoDB on-demand, per million write / read request units. */
  dynamoWriteUnitsPerMillion: 0.625,
  dynamoReadUnitsPerMillion: 0.125,
  /** CloudWatch Logs ingestion (standard class), per GB. */
  logsIngestionPerGb: 0.5,
} as const;

/** Lambda's own START, END and REPORT lines per invocation (bytes, about). */
const platformLogBytesPerInvocation = 300;

export interface ShapeMeasures {
  label: string;
  /** Events per HTTP request (1 for Segment's classic webhooks). */
  eventsPerRequest: number;
  /** Measured ingest CPU per event (ns). */
  ingestNsPerEvent: number;
  /** Calls per queue message and messages per normalize invocation. */
  callsPerMessage: number;
  messagesPerBatch: number;
  /** Measured normalize CPU per event (ms), excluding DynamoDB's own work. */
  normalizeMsPerEvent: number;
  /** DynamoDB units per event (reported, including indexes). */
  writeUnitsPerEvent: number;
  /** Write units of ingest's delivery-counter UpdateItem, one per HTTP request (reported). */
  counterUnitsPerRequest: number;
  readUnitsPerEvent: number;
  /** Bytes of one call as sent, and log bytes the handlers write per event. */
  callBytes: number;
  logBytesPerEvent: number;
}

export interface CostLine {
  item: string;
  /** Billed quantity per million events. */
  quantity: number;
  unit: string;
  dollars: number;
}

export interface ShapeCost {
  label: string;
  lines: CostLine[];
  dollarsPerMillion: number;
  /** Total for 1, 2 and 4 million events: every line is per event, so it is linear. */
  growth: { millions: number; dollars: number }[];
}

const envelopeBytes = 200;
const kb64 = 64 * 1024;

export function costPerMillion(m: ShapeMeasures): ShapeCost {
  const events = 1e6;
  const requests = events / m.eventsPerRequest;
  const requestBytes = m.eventsPerRequest * m.callBytes;
  const messageBytes = m.callsPerMessage * m.callBytes + envelopeBytes;
  const messages = events / m.callsPerMessage;
  const messagesPerRequest = Math.max(1, Math.ceil(m.eventsPerRequest / m.callsPerMessage));
  // Ingest sends up to 10 messages a SendMessageBatch; each 64 KB of a request is billed as one.
  const sendPerRequest = Math.max(
    Math.ceil(messagesPerRequest / 10),
    Math.ceil((messagesPerRequest * messageBytes) / kb64),
  );
  const batches = messages / m.messagesPerBatch;
  // The event source mapping receives up to 10 messages a ReceiveMessage and deletes what succeeded.
  const receivesPerBatch = Math.ceil(m.messagesPerBatch / 10);
  const receiveUnitsPerBatch = Math.max(receivesPerBatch, Math.ceil((m.messagesPerBatch * messageBytes) / kb64));
  const sqsRequests = requests * sendPerRequest + batches * (receiveUnitsPerBatch + receivesPerBatch);

  const ingestMs = Math.max(1, Math.ceil((m.ingestNsPerEvent * m.eventsPerRequest) / 1e6));
  const normalizeMs = Math.max(1, Math.ceil(m.normalizeMsPerEvent * m.callsPerMessage * m.messagesPerBatch));
  const ingestGbS = (requests * ingestMs * functionSettings.ingest.memoryMb) / 1024 / 1000;
  const normalizeGbS = (batches * normalizeMs * functionSettings.normalize.memoryMb) / 1024 / 1000;
  const logGb = (events * m.logBytesPerEvent + (requests + batches) * platformLogBytesPerInvocation) / 1024 ** 3;

  const lines: CostLine[] = [
    {
      item: "API Gateway HTTP API requests",
      quantity: requests * Math.max(1, Math.ceil(requestBytes / (512 * 1024))),
      unit: "requests",
      dollars: 0,
    },
    { item: "Lambda requests (ingest + normalize)", quantity: requests + batches, unit: "requests", dollars: 0 },
    {
      item: `Lambda ingest GB-s (${functionSettings.ingest.memoryMb} MB, arm64)`,
      quantity: ingestGbS,
      unit: "GB-s",
      dollars: 0,
    },
    {
      item: `Lambda normalize GB-s (${functionSettings.normalize.memoryMb} MB, arm64)`,
      quantity: normalizeGbS,
      unit: "GB-s",
      dollars: 0,
    },
    { item: "SQS requests (64 KB chunks)", quantity: sqsRequests, unit: "requests", dollars: 0 },
    { item: "DynamoDB write request units", quantity: events * m.writeUnitsPerEvent, unit: "WRU", dollars: 0 },
    {
      item: "DynamoDB write request units, ingest's delivery counters",
      quantity: requests * m.counterUnitsPerRequest,
      unit: "WRU",
      dollars: 0,
    },
    { item: "DynamoDB read request units", quantity: events * m.readUnitsPerEvent, unit: "RRU", dollars: 0 },
    { item: "CloudWatch Logs ingestion", quantity: logGb, unit: "GB", dollars: 0 },
  ];
  const rate = [
    prices.httpApiPerMillion / 1e6,
    prices.lambdaRequestsPerMillion / 1e6,
    prices.lambdaArmPerGbSecond,
    prices.lambdaArmPerGbSecond,
    prices.sqsPerMillion / 1e6,
    prices.dynamoWriteUnitsPerMillion / 1e6,
    prices.dynamoWriteUnitsPerMillion / 1e6,
    prices.dynamoReadUnitsPerMillion / 1e6,
    prices.logsIngestionPerGb,
  ];
  lines.forEach((line, i) => {
    line.dollars = line.quantity * (rate[i] ?? 0);
  });
  const dollarsPerMillion = lines.reduce((n, l) => n + l.dollars, 0);
  return {
    label: m.label,
    lines,
    dollarsPerMillion,
    growth: [1, 2, 4].map((millions) => ({ millions, dollars: dollarsPerMillion * millions })),
  };
}
