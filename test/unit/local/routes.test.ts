import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifySegmentSignature } from "../../../packages/core/src/ingest/signature";
import { readyLine, startBanner } from "../../../packages/local/src/banner";
import { type HandlerServer, startHandlerServer } from "../../../packages/local/src/http-adapter";
import { localRoutes } from "../../../packages/local/src/routes";

let server: HandlerServer;
beforeAll(async () => {
  const answer = (name: string) => async (event: APIGatewayProxyEventV2) => ({
    statusCode: 200,
    body: JSON.stringify({ handler: name, path: event.rawPath }),
  });
  server = await startHandlerServer(
    localRoutes({ ingest: answer("ingest"), "stripe-ingest": answer("stripe-ingest"), api: answer("api") }),
  );
});
afterAll(() => server.close());

async function handlerOf(path: string): Promise<string> {
  const response = await fetch(`${server.url}${path}`, { method: "POST", body: "{}" });
  if (response.status === 404) return "none";
  return ((await response.json()) as { handler: string }).handler;
}

describe("local routes", () => {
  it("sends webhooks and every tracking API path, long and short, to ingest", async () => {
    for (const path of [
      "/v1/webhooks/segment/dev",
      "/v1/webhooks/segment/dev/web",
      "/v1/track",
      "/v1/batch",
      "/v1/a",
      "/v1/b",
      "/v1/i",
      "/v1/identify/",
    ]) {
      expect([path, await handlerOf(path)]).toEqual([path, "ingest"]);
    }
  });

  it("sends Stripe's webhooks to their own function (stripe-ingest), not to ingest", async () => {
    for (const path of ["/v1/webhooks/stripe/dev", "/v1/webhooks/stripe/dev/billing", "/v1/webhooks/stripe/dev/"]) {
      expect([path, await handlerOf(path)]).toEqual([path, "stripe-ingest"]);
    }
  });

  it("sends the read API's paths to the API, even those that start like a short tracking path", async () => {
    for (const path of [
      "/health",
      "/openapi.json",
      "/v1/accounts",
      "/v1/accounts/acme/events",
      "/v1/users/u1",
      "/v1/entity-maps",
      "/v1/rejects",
      "/v1/pending",
    ]) {
      expect([path, await handlerOf(path)]).toEqual([path, "api"]);
    }
  });

  it("answers 404 elsewhere", async () => {
    for (const path of ["/", "/v1", "/v1/unknown", "/v2/track", "/healthz"]) {
      expect([path, await handlerOf(path)]).toEqual([path, "none"]);
    }
  });
});

describe("start banner", () => {
  const credentials = { workspaceId: "dev", sharedSecret: "secret-1", writeKey: "wk-1", apiKey: "sk_test" };
  const banner = startBanner("http://127.0.0.1:3000", credentials, "/repo/.data");

  it("prints the URLs and credentials", () => {
    expect(banner.startsWith(`${readyLine} at http://127.0.0.1:3000`)).toBe(true);
    expect(banner).toContain("http://127.0.0.1:3000/v1/webhooks/segment/dev");
    for (const value of Object.values(credentials)) expect(banner).toContain(value);
  });

  it("prints a curl whose signature is Segment's for the exact body it sends", () => {
    const body = /--data-raw '(.*)'$/m.exec(banner)?.[1] ?? "";
    const signature = /x-signature: ([0-9a-f]+)'/.exec(banner)?.[1];
    expect(JSON.parse(body)).toMatchObject({ type: "track", userId: "user-1" });
    expect(verifySegmentSignature(body, signature, [credentials.sharedSecret])).toBe(true);
  });
});
