/** Entity maps: the list, and the CSV upload with its dry-run report. */
import { useState } from "preact/hooks";
import { ApiError, type EntityMap, type EntityMapReport, type EntityMapUploadResult } from "../api";
import { formatTime, plural } from "../format";
import { EmptyState, ErrorNotice, Loading } from "../notices";
import { useApi, useResource } from "../resource";
import { accountHref, Link, userHref } from "../router";

const example = "source,kind,external_id,canonical_id\nsalesforce,account,001A000001,acc_northwind\n";

type Outcome =
  | { kind: "report"; report: EntityMapReport | EntityMapUploadResult }
  | { kind: "conflict"; message: string; report: EntityMapReport }
  | { kind: "error"; error: unknown };

export function EntityMapsView() {
  const api = useApi();
  const maps = useResource(() => api.all<EntityMap>("/v1/entity-maps"), [api]);
  const [csv, setCsv] = useState("");
  const [replace, setReplace] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | undefined>(undefined);

  const send = async (dryRun: boolean) => {
    if (!csv.trim()) {
      setOutcome({ kind: "error", error: new Error("Choose a CSV file or paste CSV first.") });
      return;
    }
    setBusy(true);
    setOutcome(undefined);
    try {
      const report = await api.uploadEntityMapsCsv(csv, { dryRun, replace });
      setOutcome({ kind: "report", report });
      if (!dryRun) maps.reload();
    } catch (error) {
      if (error instanceof ApiError && error.code === "entity_map.conflict") {
        setOutcome({ kind: "conflict", message: error.message, report: error.body as EntityMapReport });
      } else {
        setOutcome({ kind: "error", error });
      }
    } finally {
      setBusy(false);
    }
  };

  const readFile = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    if (file) {
      setCsv(await file.text());
      setOutcome(undefined);
    }
  };

  return (
    <>
      <h1>Entity maps</h1>
      <p class="lead">
        Say which canonical user or account an id of another source is. Ids of the primary source are canonical; calls
        with an id that has no map wait on the <Link href="/pending">Pending calls</Link> page until its map arrives.
      </p>
      <section aria-labelledby="upload-heading">
        <h2 id="upload-heading">Upload CSV</h2>
        <form
          class="upload"
          onSubmit={(e) => {
            e.preventDefault();
            void send(true);
          }}
        >
          <div>
            <label for="csv-file">CSV file</label>
            <input id="csv-file" type="file" accept=".csv,text/csv" onChange={(e) => void readFile(e.currentTarget)} />
          </div>
          <div>
            <label for="csv-text">CSV (header and one entry a line)</label>
            <textarea
              id="csv-text"
              rows={6}
              spellcheck={false}
              value={csv}
              placeholder={example}
              onInput={(e) => {
                setCsv(e.currentTarget.value);
                setOutcome(undefined);
              }}
              aria-describedby="csv-help"
            />
            <p id="csv-help" class="help">
              Header <code>source,kind,external_id,canonical_id</code>; <code>kind</code> is <code>user</code> or{" "}
              <code>account</code>. Up to 10,000 rows.
            </p>
          </div>
          <div class="checkbox">
            <input
              id="csv-replace"
              type="checkbox"
              checked={replace}
              onChange={(e) => setReplace(e.currentTarget.checked)}
            />
            <label for="csv-replace">Change entries that already map to another canonical id</label>
          </div>
          <div class="buttons">
            <button type="submit" disabled={busy}>
              Check (dry run)
            </button>
            <button type="button" class="secondary" disabled={busy} onClick={() => void send(false)}>
              Upload
            </button>
          </div>
        </form>
        <div aria-live="polite">{outcome && <UploadOutcome outcome={outcome} />}</div>
      </section>
      <section aria-labelledby="maps-heading">
        <h2 id="maps-heading">Maps</h2>
        {maps.error !== undefined && <ErrorNotice error={maps.error} what="entity maps" />}
        {!maps.data && maps.error === undefined && <Loading what="entity maps" />}
        {maps.data && maps.data.items.length === 0 && (
          <EmptyState level={3} title="No entity maps yet">
            <p>
              You need them only when a second source (a CRM, a billing tool) sends its own ids. Upload a CSV above, for
              example:
            </p>
            <pre>{example}</pre>
          </EmptyState>
        )}
        {maps.data && maps.data.items.length > 0 && (
          <div class="table-scroll">
            <table>
              <caption>{plural(maps.data.items.length, "entity map")}</caption>
              <thead>
                <tr>
                  <th scope="col">Source</th>
                  <th scope="col">Kind</th>
                  <th scope="col">External id</th>
                  <th scope="col">Canonical id</th>
                  <th scope="col">Updated (UTC)</th>
                </tr>
              </thead>
              <tbody>
                {maps.data.items.map((m) => (
                  <tr key={`${m.source}\u0000${m.kind}\u0000${m.external_id}`}>
                    <td>{m.source}</td>
                    <td>{m.kind}</td>
                    <td>
                      <code>{m.external_id}</code>
                    </td>
                    <td>
                      <Link href={m.kind === "account" ? accountHref(m.canonical_id) : userHref(m.canonical_id)}>
                        {m.canonical_id}
                      </Link>
                    </td>
                    <td class="nowrap">{formatTime(m.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

function UploadOutcome({ outcome }: { outcome: Outcome }) {
  if (outcome.kind === "error") return <ErrorNotice error={outcome.error} what="the upload" />;
  const { report } = outcome;
  const released = "released" in report ? report.released : undefined;
  return (
    <section class="report" aria-labelledby="report-heading">
      <h3 id="report-heading">
        {outcome.kind === "conflict"
          ? "Nothing was written"
          : report.dry_run
            ? "Dry run: nothing written yet"
            : "Uploaded"}
      </h3>
      {outcome.kind === "conflict" && (
        <p class="notice notice-error" role="alert">
          {outcome.message}
        </p>
      )}
      <ul class="counts">
        <li class="count">
          <span class="count-number">{report.created}</span> <span class="count-label">new</span>
        </li>
        <li class="count">
          <span class="count-number">{report.changed}</span> <span class="count-label">changed</span>
        </li>
        <li class="count">
          <span class="count-number">{report.unchanged}</span> <span class="count-label">unchanged</span>
        </li>
        <li class="count">
          <span class="count-number">{report.conflicts.length}</span> <span class="count-label">conflicts</span>
        </li>
        {released !== undefined && (
          <li class="count">
            <span class="count-number">{released}</span> <span class="count-label">pending calls released</span>
          </li>
        )}
      </ul>
      {report.dry_run && report.conflicts.length === 0 && <p>No conflicts: press Upload to write these maps.</p>}
      {report.conflicts.length > 0 && (
        <table>
          <caption>Conflicts: one external id mapped to two canonical ids</caption>
          <thead>
            <tr>
              <th scope="col">Source</th>
              <th scope="col">Kind</th>
              <th scope="col">External id</th>
              <th scope="col">Canonical id</th>
              <th scope="col">Conflicts with</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {report.conflicts.map((c) => (
              <tr key={`${c.source}\u0000${c.kind}\u0000${c.external_id}\u0000${c.canonical_id}`}>
                <td>{c.source}</td>
                <td>{c.kind}</td>
                <td>
                  <code>{c.external_id}</code>
                </td>
                <td>
                  <code>{c.canonical_id}</code>
                </td>
                <td>
                  <code>{c.other_canonical_id}</code>
                </td>
                <td>{c.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {report.rows.created.length + report.rows.changed.length > 0 && (
        <table>
          <caption>{report.dry_run ? "What the upload would write" : "What was written"}</caption>
          <thead>
            <tr>
              <th scope="col">Change</th>
              <th scope="col">Source</th>
              <th scope="col">Kind</th>
              <th scope="col">External id</th>
              <th scope="col">Canonical id</th>
            </tr>
          </thead>
          <tbody>
            {report.rows.created.map((r) => (
              <tr key={`new\u0000${r.source}\u0000${r.kind}\u0000${r.external_id}`}>
                <td>new</td>
                <td>{r.source}</td>
                <td>{r.kind}</td>
                <td>
                  <code>{r.external_id}</code>
                </td>
                <td>
                  <code>{r.canonical_id}</code>
                </td>
              </tr>
            ))}
            {report.rows.changed.map((r) => (
              <tr key={`changed\u0000${r.source}\u0000${r.kind}\u0000${r.external_id}`}>
                <td>changed (was {r.previous_canonical_id})</td>
                <td>{r.source}</td>
                <td>{r.kind}</td>
                <td>
                  <code>{r.external_id}</code>
                </td>
                <td>
                  <code>{r.canonical_id}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
