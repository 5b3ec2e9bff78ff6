import { describe, expect, it } from "vitest";
import { accountProvenance, userProvenance } from "../../../packages/core/src/normalize/materialize";
import { mergeFields } from "../../../packages/core/src/normalize/merge";
import { storedSnapshot } from "../../../packages/core/src/sources/stripe/billing";
import { OWNERSHIP_FIELD } from "../../../packages/core/src/sources/stripe/derive";

const T1 = "2024-05-01T00:00:00.000Z";
const T2 = "2024-05-02T00:00:00.000Z";

describe("field provenance", () => {
  it("is stored with each field a write wins, and takes no part in which write wins", () => {
    const newer = mergeFields({}, { name: "Acme" }, { t: T2, m: "m2" }, { s: "product", k: "webhook" });
    const older = mergeFields(newer.fields, { name: "Old", industry: "Retail" }, { t: T1, m: "m1" }, { s: "crm" });
    expect(older.changedFields).toEqual(["industry"]);
    expect(older.fields.name).toEqual({ v: "Acme", t: T2, m: "m2", s: "product", k: "webhook" });
    expect(older.fields.industry).toEqual({ v: "Retail", t: T1, m: "m1", s: "crm" });
    // A replay of the same call from another origin changes nothing: the stamp and value decide.
    expect(mergeFields(older.fields, { name: "Acme" }, { t: T2, m: "m2" }, { s: "other" }).changed).toBe(false);
  });

  it("reads a field stored before provenance was recorded as source unknown", () => {
    const fields = { name: { v: "Acme", t: T1, m: "m1" }, "traits.tier": { v: "gold", t: T1, m: "m1", s: "product" } };
    expect(accountProvenance(fields)).toEqual({
      name: { source: "unknown", source_kind: null, message_id: "m1", time: T1, derived_from: null },
      "traits.tier": { source: "product", source_kind: null, message_id: "m1", time: T1, derived_from: null },
    });
  });

  it("leaves out cleared custom traits (not in the answer) and keeps cleared known fields", () => {
    const fields = { email: { v: null, t: T2, m: "m2", s: "product" }, "traits.x": { v: null, t: T2, m: "m2" } };
    expect(Object.keys(userProvenance(fields))).toEqual(["email"]);
  });

  it("gives Stripe's derived fields the newest snapshot's event; with ownership off a newer group call's wins", () => {
    const snapshot = (status: string, mrr: number) =>
      storedSnapshot({
        status,
        mrr,
        currency: "usd",
        plan_name: "Pro",
        created: 1,
        trial_start: null,
        trial_end: null,
        period_end: null,
        cancel_at_period_end: false,
      });
    const stripe = { s: "stripe", k: "stripe" as const };
    let fields = mergeFields(
      {},
      { "stripe.subscription.sub_1": snapshot("active", 49) },
      { t: T1, m: "evt_1" },
      stripe,
    ).fields;
    fields = mergeFields(
      fields,
      { "stripe.subscription.sub_2": snapshot("canceled", 0) },
      { t: T2, m: "evt_2" },
      stripe,
    ).fields;
    const fromStripe = { source: "stripe", source_kind: "stripe", message_id: "evt_2", time: T2 };
    expect(accountProvenance(fields).mrr).toEqual({ ...fromStripe, derived_from: "stripe.subscription.sub_2" });

    const later = "2024-05-03T00:00:00.000Z";
    const shared = mergeFields(fields, { [OWNERSHIP_FIELD]: false }, { t: T1, m: "evt_0" }, stripe).fields;
    const group = mergeFields(shared, { mrr: 10 }, { t: later, m: "seg-1" }, { s: "product", k: "webhook" }).fields;
    expect(accountProvenance(group).mrr).toMatchObject({ source: "product", message_id: "seg-1", derived_from: null });
    const owned = mergeFields(fields, { mrr: 10 }, { t: later, m: "seg-1" }, { s: "product", k: "webhook" }).fields;
    expect(accountProvenance(owned).mrr).toMatchObject({ source: "stripe", message_id: "evt_2" });
  });
});
