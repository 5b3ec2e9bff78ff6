/** Rejects and data-quality problems, grouped by reason code, then by field and value. */
import type { Reject } from "../api";
import { formatTime, plural } from "../format";
import { EmptyState, ErrorNotice, Loading, ReplayHint } from "../notices";
import { reasonHint } from "../reason-codes";
import { groupRejects } from "../reject-groups";
import { useApi, useResource } from "../resource";

const anchorOf = (code: string) => `code-${code.replace(/[^a-z0-9]+/gi, "-")}`;

export function RejectsView() {
  const api = useApi();
  const rejects = useResource(() => api.all<Reject>("/v1/rejects"), [api], { refreshMs: 15_000 });

  return (
    <>
      <h1>Rejects</h1>
      <p class="lead">
        Calls, or parts of calls, that could not be stored as sent. The rest of each call was stored; fix these at the
        source and new calls go through whole.
      </p>
      {rejects.error !== undefined && <ErrorNotice error={rejects.error} what="rejects" />}
      {!rejects.data && rejects.error === undefined && <Loading what="rejects" />}
      {rejects.data && rejects.data.items.length === 0 && (
        <EmptyState title="No rejects">
          <p>
            Every call so far was stored whole. Values such as nested objects, or times without a zone, show up here.
          </p>
          <ReplayHint />
        </EmptyState>
      )}
      {rejects.data && rejects.data.items.length > 0 && <Groups rejects={rejects.data.items} />}
      {rejects.data && !rejects.data.complete && (
        <p class="muted">Only the first {rejects.data.items.length} rejects are counted.</p>
      )}
    </>
  );
}

function Groups({ rejects }: { rejects: readonly Reject[] }) {
  const groups = groupRejects(rejects);
  return (
    <>
      <nav aria-label="Reason codes">
        <ul class="counts">
          {groups.map((g) => (
            <li key={g.code}>
              <a class="count" href={`#${anchorOf(g.code)}`}>
                <span class="count-number">{g.count}</span>
                <span class="count-label">{g.code}</span>
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {groups.map((group) => (
        <section key={group.code} id={anchorOf(group.code)} aria-labelledby={`${anchorOf(group.code)}-heading`}>
          <h2 id={`${anchorOf(group.code)}-heading`}>
            <code>{group.code}</code> <span class="muted">· {plural(group.count, "time")}</span>
          </h2>
          {reasonHint(group.code) && <p>{reasonHint(group.code)}</p>}
          <div class="table-scroll">
            <table>
              <caption class="visually-hidden">Rejects with code {group.code}</caption>
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">Value</th>
                  <th scope="col">Message</th>
                  <th scope="col" class="num">
                    Count
                  </th>
                  <th scope="col">Last seen (UTC)</th>
                  <th scope="col">Message ids</th>
                </tr>
              </thead>
              <tbody>
                {group.rows.map((row) => (
                  <tr key={`${row.field}\u0000${row.value}`}>
                    <td>
                      <code>{row.field}</code>
                    </td>
                    <td>
                      <code class="value">{row.value}</code>
                    </td>
                    <td>{row.message}</td>
                    <td class="num">{row.count}</td>
                    <td class="nowrap">{formatTime(row.lastSeen)}</td>
                    <td>
                      <ul class="ids">
                        {row.messageIds.slice(0, 3).map((id) => (
                          <li key={id}>
                            <code>{id}</code>
                          </li>
                        ))}
                        {row.messageIds.length > 3 && <li>and {row.messageIds.length - 3} more</li>}
                      </ul>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ))}
    </>
  );
}
