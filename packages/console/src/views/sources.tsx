/** The workspace's sources: where Segment delivers, and whether deliveries arrive. */
import { useState } from "preact/hooks";
import type { Page, SourceStatus } from "../api";
import { formatTime, plural } from "../format";
import { ErrorNotice, Loading } from "../notices";
import { useApi, useResource } from "../resource";

/** Counters are read this often, so a delivery shows within a second. */
const refreshMs = 300;

export function SourcesView() {
  const api = useApi();
  const sources = useResource(() => api.get<Page<SourceStatus>>("/v1/sources"), [api], { refreshMs });
  const base = api.baseUrl === "" ? window.location.origin : api.baseUrl;

  return (
    <>
      <h1>Sources</h1>
      <p class="lead">
        Each source's Segment webhook URL and what has arrived at it today (UTC). Connect Segment with{" "}
        <code>npm run cli -- segment connect</code> (Segment's Public API) or <code>--manual</code>.
      </p>
      {sources.error !== undefined && <ErrorNotice error={sources.error} what="sources" />}
      {!sources.data && sources.error === undefined && <Loading what="sources" />}
      {sources.data?.items.map((source) => (
        <SourceCard key={source.name} source={source} url={`${base}${source.webhook_path}`} />
      ))}
    </>
  );
}

function SourceCard({ source, url }: { source: SourceStatus; url: string }) {
  const d = source.delivery;
  const waiting = d.last_delivery_at === null && d.last_refused_at === null;
  return (
    <section class="source" aria-label={`Source ${source.name}`}>
      <h2>{source.name}</h2>
      <WebhookUrl url={url} />
      {waiting ? (
        <p class="notice" role="status">
          {source.webhook_path.startsWith("/v1/webhooks/stripe/")
            ? "Waiting for the first event. Add this URL as a webhook endpoint in Stripe's dashboard and give the source its signing secret; deliveries show here as they arrive."
            : "Waiting for the first event. Point a Segment Webhooks (Actions) destination at this URL with the source's shared secret; deliveries show here as they arrive."}
        </p>
      ) : (
        <dl class="fields">
          {fieldsOf(source).map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

/** The counters of a source that has seen a request, as label and text. */
function fieldsOf(source: SourceStatus): [string, string][] {
  const d = source.delivery;
  const refused = Object.entries(d.refused_today_by_code);
  return [
    ["Last delivery", formatTime(d.last_delivery_at)],
    ["Last signed webhook delivery", formatTime(d.last_signed_delivery_at)],
    ["Calls accepted today", String(d.calls_accepted_today)],
    ["Calls accepted in the last hour", String(d.calls_accepted_last_hour)],
    ["Signature failures today", String(d.signature_failures_today)],
    ["Calls refused on their own today", String(d.rejected_calls_today)],
    [
      "Refused requests today",
      refused.length === 0 ? "none" : refused.map(([code, n]) => `${code}: ${plural(n, "request")}`).join("; "),
    ],
  ];
}

function WebhookUrl({ url }: { url: string }) {
  const [copied, setCopied] = useState<"yes" | "failed" | undefined>(undefined);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied("yes");
    } catch {
      setCopied("failed");
    }
  };
  return (
    <p class="webhook-url">
      <span class="muted">Webhook URL</span> <code>{url}</code>{" "}
      <button type="button" class="secondary" onClick={() => void copy()}>
        Copy URL
      </button>{" "}
      <span role="status">
        {copied === "yes" ? "Copied." : copied === "failed" ? "Could not copy: select the URL instead." : ""}
      </span>
    </p>
  );
}
