import { describe, expect, it } from "vitest";
import { failedMessageIds, sqsRecordOf } from "../../../packages/local/src/poller";

describe("failedMessageIds (how Lambda reads a partial batch response)", () => {
  const ids = ["a", "b", "c"];
  it("is empty when the handler returns nothing or no failures", () => {
    expect(failedMessageIds(ids, undefined)).toEqual(new Set());
    expect(failedMessageIds(ids, { batchItemFailures: [] })).toEqual(new Set());
    expect(failedMessageIds(ids, {})).toEqual(new Set());
    expect(failedMessageIds(ids, null)).toEqual(new Set());
  });
  it("names the reported messages", () => {
    expect(failedMessageIds(ids, { batchItemFailures: [{ itemIdentifier: "b" }] })).toEqual(new Set(["b"]));
  });
  it("fails the whole batch for an answer of another shape", () => {
    expect(failedMessageIds(ids, "ok")).toEqual(new Set(ids));
    expect(failedMessageIds(ids, { batchItemFailures: "b" })).toEqual(new Set(ids));
    expect(failedMessageIds(ids, { batchItemFailures: [null] })).toEqual(new Set(ids));
  });
  it("fails the whole batch when an entry names no message of the batch", () => {
    expect(failedMessageIds(ids, { batchItemFailures: [{ itemIdentifier: "zzz" }] })).toEqual(new Set(ids));
    expect(failedMessageIds(ids, { batchItemFailures: [{ itemIdentifier: "" }] })).toEqual(new Set(ids));
  });
});

describe("sqsRecordOf", () => {
  it("builds the record Lambda delivers, message attributes in Lambda's spelling", () => {
    const record = sqsRecordOf(
      {
        MessageId: "m1",
        ReceiptHandle: "rh1",
        Body: "{}",
        MD5OfBody: "99914b932bd37a50b983c5e7c90ae93b",
        Attributes: {
          ApproximateReceiveCount: "3",
          SentTimestamp: "1714564800000",
          SenderId: "000000000000",
          ApproximateFirstReceiveTimestamp: "1714564801000",
        },
        MessageAttributes: { workspaceId: { DataType: "String", StringValue: "dev" } },
      },
      "arn:aws:sqs:us-east-1:000000000000:local-RawQueue",
      "us-east-1",
    );
    expect(record).toEqual({
      messageId: "m1",
      receiptHandle: "rh1",
      body: "{}",
      attributes: {
        ApproximateReceiveCount: "3",
        SentTimestamp: "1714564800000",
        SenderId: "000000000000",
        ApproximateFirstReceiveTimestamp: "1714564801000",
      },
      messageAttributes: {
        workspaceId: { dataType: "String", stringValue: "dev", stringListValues: [], binaryListValues: [] },
      },
      md5OfBody: "99914b932bd37a50b983c5e7c90ae93b",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:local-RawQueue",
      awsRegion: "us-east-1",
    });
  });
});
