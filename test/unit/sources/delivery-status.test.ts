import { describe, expect, it } from "vitest";
import { AuthError, NotFoundError } from "../../../packages/core/src/errors";
import type { IngestResult } from "../../../packages/core/src/ingest/receive";
import { dayOf, deliveryOf, deliveryStatus, slotOf } from "../../../packages/core/src/sources/delivery-status";

const facts = { route: "webhook" as const, workspaceId: "acme", source: "product", events: 2, messages: 1, bytes: 10 };
const at = new Date("2026-12-01T00:07:00.000Z");

describe("deliveryOf: what a request adds to its source's counters", () => {
  it("an accepted request counts its queued and its refused calls", () => {
    const outcome: IngestResult = {
      ok: true,
      facts,
      accepted: 2,
      refused: [{ index: 2, message: "id too long" }],
    };
    expect(deliveryOf(outcome, at)).toEqual({
      workspaceId: "acme",
      source: "product",
      at,
      route: "webhook",
      accepted: 2,
      rejectedCalls: 1,
      signatureFailure: false,
    });
  });

  it("a wrong signature is a refusal by code and a signature failure", () => {
    const error = new AuthError("segment.signature_invalid", "no");
    expect(deliveryOf({ ok: false, error, facts }, at)).toMatchObject({
      accepted: 0,
      refusedCode: "segment.signature_invalid",
      signatureFailure: true,
    });
    const bearer = new AuthError("auth.bearer_invalid", "no");
    expect(deliveryOf({ ok: false, error: bearer, facts }, at)).toMatchObject({ signatureFailure: false });
  });

  it("a Stripe source's missing, wrong or stale Stripe-Signature is a signature failure too", () => {
    const stripeFacts = { ...facts, route: "stripe" as const, source: "stripe" };
    for (const code of ["stripe.signature_missing", "stripe.signature_invalid", "stripe.signature_expired"]) {
      const error = new AuthError(code, "no");
      expect(deliveryOf({ ok: false, error, facts: stripeFacts }, at)).toMatchObject({
        route: "stripe",
        refusedCode: code,
        signatureFailure: true,
      });
    }
  });

  it("nothing is counted for an unknown source, or before the source is known", () => {
    const unknown = new NotFoundError("workspace.not_found", "no");
    expect(deliveryOf({ ok: false, error: unknown, facts }, at)).toBeUndefined();
    const early = new AuthError("auth.write_key_invalid", "no");
    expect(deliveryOf({ ok: false, error: early, facts: { events: 0, messages: 0, bytes: 1 } }, at)).toBeUndefined();
  });
});

describe("deliveryStatus: counters summed at read time", () => {
  it("the last hour is the last twelve five-minute slots, across midnight", () => {
    expect(dayOf(at)).toBe("2026-12-01");
    expect(slotOf(at)).toBe(1);
    const status = deliveryStatus(
      [
        { day: "2026-12-01", accepted: 7, slots: { 0: 3, 1: 4 } },
        // 23:00-23:55 of the day before: slots 276-287; 276 and 277 are more than an hour back.
        { day: "2026-11-30", accepted: 100, slots: { 276: 50, 277: 20, 278: 5, 287: 1 } },
      ],
      at,
    );
    expect(status.calls_accepted_today).toBe(7);
    expect(status.calls_accepted_last_hour).toBe(3 + 4 + 5 + 1);
  });

  it("yesterday's counters are not today's, but its last delivery still shows", () => {
    const status = deliveryStatus(
      [{ day: "2026-11-30", accepted: 9, signatureFailures: 2, lastDeliveryAt: "2026-11-30T10:00:00.000Z" }],
      at,
    );
    expect(status).toMatchObject({
      calls_accepted_today: 0,
      signature_failures_today: 0,
      last_delivery_at: "2026-11-30T10:00:00.000Z",
      last_signed_delivery_at: null,
    });
  });
});
