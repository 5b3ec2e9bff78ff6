import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SourceStatus, SourceStatusPage } from "../../../packages/core/src/api/source-schemas";
import { type DeliveryStack, startDeliveryStack } from "../../support/delivery-stack";

/**
 * Delivery counters end to end on the real local servers: the real ingest handler writes them as
 * requests arrive, the real API handler serves them at `GET /v1/sources[/{name}]`.
 */

let stack: DeliveryStack;

beforeAll(async () => {
  stack = await startDeliveryStack({ moreSources: ["crm"] });
});
afterAll(async () => {
  await stack?.close();
});

const sign = (body: string) => createHmac("sha1", stack.secret).update(body).digest("hex");
const deliver = (path: string, body: string, signature = sign(body)) =>
  fetch(`${stack.server.url}${path}`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", "x-signature": signature },
  });
const read = async (path: string) => {
  const answer = await fetch(`${stack.server.url}${path}`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
};
const track = (n: number) => ({ type: "track", event: "Seat Added", userId: `u${n}`, messageId: `src-${n}` });

describe("GET /v1/sources: delivery counters written by ingest", () => {
  it("a source nothing was delivered to yet is waiting for its first event", async () => {
    const listed = await read("/v1/sources");
    expect(listed.status).toBe(200);
    const page = SourceStatusPage.parse(listed.body);
    expect(page.items.map((s) => [s.name, s.webhook_path])).toEqual([
      ["crm", "/v1/webhooks/segment/acme/crm"],
      ["product", "/v1/webhooks/segment/acme"],
    ]);
    expect(page.items[1]?.delivery).toEqual({
      last_delivery_at: null,
      last_signed_delivery_at: null,
      last_refused_at: null,
      calls_accepted_today: 0,
      calls_accepted_last_hour: 0,
      signature_failures_today: 0,
      refused_today_by_code: {},
      rejected_calls_today: 0,
    });
  });

  it("counts accepted calls, signature failures, refusals by code and rejected calls", async () => {
    const started = new Date().toISOString();
    const batch = JSON.stringify([track(1), track(2), track(3)]);
    expect((await deliver("/v1/webhooks/segment/acme", batch, sign(JSON.stringify(track(1))))).status).toBe(200);
    expect((await deliver("/v1/webhooks/segment/acme", JSON.stringify(track(4)))).status).toBe(200);
    // A wrong signature, twice; a call refused alone inside an accepted batch (an id over the limit).
    expect((await deliver("/v1/webhooks/segment/acme", JSON.stringify(track(5)), "0".repeat(40))).status).toBe(401);
    expect((await deliver("/v1/webhooks/segment/acme", JSON.stringify(track(6)), "0".repeat(40))).status).toBe(401);
    const withRefused = JSON.stringify([track(7), { ...track(8), userId: "x".repeat(2000) }]);
    expect((await deliver("/v1/webhooks/segment/acme", withRefused, sign(JSON.stringify(track(7))))).status).toBe(200);
    // Unknown sources and workspaces are not counted anywhere.
    expect((await deliver("/v1/webhooks/segment/acme/nope", JSON.stringify(track(9)))).status).toBe(404);

    const one = await read("/v1/sources/product");
    expect(one.status).toBe(200);
    const status = SourceStatus.parse(one.body);
    expect(status.delivery).toMatchObject({
      calls_accepted_today: 5,
      calls_accepted_last_hour: 5,
      signature_failures_today: 2,
      refused_today_by_code: { "segment.signature_invalid": 2 },
      rejected_calls_today: 1,
    });
    for (const time of [
      status.delivery.last_delivery_at,
      status.delivery.last_signed_delivery_at,
      status.delivery.last_refused_at,
    ]) {
      expect(time! >= started).toBe(true);
    }
    // The other source saw nothing.
    const crm = SourceStatus.parse((await read("/v1/sources/crm")).body);
    expect(crm.delivery.calls_accepted_today).toBe(0);
  });

  it("an unknown source is 404 source.not_found", async () => {
    const missing = await read("/v1/sources/nope");
    expect(missing).toMatchObject({ status: 404, body: { code: "source.not_found" } });
  });
});
