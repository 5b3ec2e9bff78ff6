import { segmentSignature } from "../../core/src/ingest/signature";
import type { DevCredentials } from "./dev-workspace";

/** What `npm start` prints once the local stack serves requests. */

/** The line the stack prints once it serves requests (tests and scripts wait for it). */
export const readyLine = "Local stack ready";

/** A first event, with its body exactly as the printed curl sends it. */
function firstEventBody(): string {
  return JSON.stringify({
    type: "track",
    event: "Report Exported",
    userId: "user-1",
    messageId: "first-event-1",
    timestamp: "2024-05-01T12:00:00.000Z",
    properties: { format: "csv" },
    context: { groupId: "account-1" },
  });
}

/** Single quotes for a POSIX shell. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * What `npm start` prints once ready: URLs, credentials, and commands to try.
 *
 * @example
 * console.log(startBanner(stack.url, stack.dev.credentials, ".data"));
 */
export function startBanner(url: string, credentials: DevCredentials, dataDir: string): string {
  const webhook = `${url}/v1/webhooks/segment/${credentials.workspaceId}`;
  const body = firstEventBody();
  const signature = segmentSignature(body, credentials.sharedSecret);
  const rows: [string, string][] = [
    ["Segment webhook URL", webhook],
    ["Shared secret", credentials.sharedSecret],
    ["Tracking API host", `${url}  (POST /v1/track, /v1/batch, …)`],
    ["Write key", credentials.writeKey],
    ["Read API", `${url}/v1/accounts  (GET /health, /openapi.json)`],
    ["API key", credentials.apiKey],
    ["Data", `${dataDir}  (credentials in dev-credentials.json)`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    `${readyLine} at ${url} (workspace ${credentials.workspaceId})`,
    "",
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    "",
    "Send a first signed event:",
    `  curl -sS -X POST ${webhook} \\`,
    "    -H 'content-type: application/json' \\",
    `    -H 'x-signature: ${signature}' \\`,
    `    --data-raw ${shellQuote(body)}`,
    "",
    "Read it back:",
    `  curl -sS -H 'authorization: Bearer ${credentials.apiKey}' ${url}/v1/accounts/account-1/events`,
    "",
    "Or with the CLI: npm run cli -- accounts events account-1",
    "",
    "Replay the sample Segment payloads: npm run replay -- test/fixtures",
    "Ctrl-C stops the stack (it drains the queue for up to 10 s; what is left stays on disk for the next start).",
  ].join("\n");
}
