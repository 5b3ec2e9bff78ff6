/** Realistic Segment calls for the benchmark, generated from a seed (same calls every run). */
import { prng } from "../test/support/seeded-random";

const EVENTS = ["Report Built", "Dashboard Viewed", "Invite Sent", "Export Downloaded", "Signed In"];

/**
 * `count` calls: a share of identify and group calls, the rest track. `users` users spread over
 * `accounts` accounts; timestamps within May 2024; every call has a unique messageId.
 */
export function segmentCalls(
  count: number,
  options: { seed?: number; trackShare?: number; users?: number; accounts?: number; prefix?: string } = {},
): Record<string, unknown>[] {
  const r = prng(options.seed ?? 1);
  const users = options.users ?? 200;
  const accounts = options.accounts ?? 40;
  const trackShare = options.trackShare ?? 0.8;
  const prefix = options.prefix ?? "m";
  const calls: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const u = r.int(users);
    const a = u % accounts;
    const timestamp = new Date(Date.UTC(2024, 4, 1 + r.int(28), r.int(24), r.int(60), r.int(60))).toISOString();
    const base = {
      messageId: `${prefix}-${i}`,
      timestamp,
      context: { library: { name: "analytics-node", version: "3.1.0" }, ip: "203.0.113.9" },
    };
    const roll = r.next();
    if (roll < trackShare) {
      calls.push({
        ...base,
        type: "track",
        userId: `user-${u}`,
        event: r.pick(EVENTS),
        properties: {
          account_id: `acct-${a}`,
          plan: r.pick(["free", "pro", "enterprise"]),
          rows: r.int(5000),
          tags: ["a", "b"],
        },
      });
    } else if (roll < trackShare + (1 - trackShare) / 2) {
      calls.push({
        ...base,
        type: "identify",
        userId: `user-${u}`,
        traits: {
          firstName: r.pick(["Ada", "Grace", "Alan", "Edsger"]),
          lastName: r.pick(["Lovelace", "Hopper", "Turing"]),
          email: `user-${u}@example.com`,
          createdAt: "2024-01-15T10:00:00Z",
          companyId: `acct-${a}`,
          logins: r.int(300),
        },
      });
    } else {
      calls.push({
        ...base,
        type: "group",
        userId: `user-${u}`,
        groupId: `acct-${a}`,
        traits: {
          name: `Account ${a}`,
          plan: r.pick(["Growth", "Scale"]),
          mrr: r.int(5000),
          isTrial: r.next() < 0.2,
          website: `https://acct-${a}.example`,
        },
      });
    }
  }
  return calls;
}
