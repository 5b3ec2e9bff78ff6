/** Calls from other sources waiting for the entity maps of their ids. */
import type { PendingCall } from "../api";
import { formatTime, plural } from "../format";
import { EmptyState, ErrorNotice, Loading } from "../notices";
import { useApi, useResource } from "../resource";
import { Link } from "../router";

export function PendingView() {
  const api = useApi();
  const pending = useResource(() => api.all<PendingCall>("/v1/pending"), [api], { refreshMs: 15_000 });

  return (
    <>
      <h1>Pending calls</h1>
      <p class="lead">
        Calls from a source other than the primary one whose ids have no entity map yet. They are kept, not dropped, and
        processed as soon as the maps arrive: upload them on the <Link href="/entity-maps">Entity maps</Link> page.
      </p>
      {pending.error !== undefined && <ErrorNotice error={pending.error} what="pending calls" />}
      {!pending.data && pending.error === undefined && <Loading what="pending calls" />}
      {pending.data && pending.data.items.length === 0 && (
        <EmptyState title="No pending calls">
          <p>
            Every call's ids are known. Calls land here when a secondary source (for example{" "}
            <code>/v1/webhooks/segment/&lt;workspace&gt;/salesforce</code>) sends an id that no entity map translates.
          </p>
        </EmptyState>
      )}
      {pending.data && pending.data.items.length > 0 && (
        <div class="table-scroll">
          <table>
            <caption>{plural(pending.data.items.length, "call")} waiting, oldest event first</caption>
            <thead>
              <tr>
                <th scope="col">Event time (UTC)</th>
                <th scope="col">Source</th>
                <th scope="col">Call</th>
                <th scope="col">Message id</th>
                <th scope="col">Waiting for maps of</th>
                <th scope="col">Held since (UTC)</th>
              </tr>
            </thead>
            <tbody>
              {pending.data.items.map((p) => (
                <tr key={`${p.source}\u0000${p.message_id}`}>
                  <td class="nowrap">{formatTime(p.time)}</td>
                  <td>{p.source}</td>
                  <td>{typeof p.call.type === "string" ? p.call.type : "—"}</td>
                  <td>
                    <code>{p.message_id}</code>
                  </td>
                  <td>
                    <ul class="ids">
                      {p.missing.map((m) => (
                        <li key={`${m.kind}:${m.external_id}`}>
                          {m.kind} <code>{m.external_id}</code> of {m.source}
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td class="nowrap">{formatTime(p.held_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
