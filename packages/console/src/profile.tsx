/** A profile (account or user) as a list of fields, its missing fields and its custom traits. */
import type { FieldProvenance } from "./api";
import { formatTime, formatValue } from "./format";

/** By field name (custom traits as `traits.<key>`): the write that set it, as the API's `provenance`. */
export type Provenance = Readonly<Record<string, FieldProvenance>>;

/** "from stripe · evt_… · time" (and the snapshot a derived field comes from): which call set the field. */
export function FieldSource({ provenance }: { provenance: FieldProvenance | undefined }) {
  if (!provenance) return null;
  const derived = provenance.derived_from === null ? "" : ` (derived from ${provenance.derived_from})`;
  return (
    <small class="field-source">
      from {provenance.source} · <code>{provenance.message_id}</code> · {formatTime(provenance.time)}
      {derived}
    </small>
  );
}

export interface ProfileField {
  label: string;
  value: unknown;
  /** The field's name in the API (shown small, so it can be searched for in the docs). */
  name: string;
}

export function FieldList({
  fields,
  label,
  provenance = {},
}: {
  fields: readonly ProfileField[];
  label: string;
  provenance?: Provenance;
}) {
  return (
    <dl class="fields" aria-label={label}>
      {fields.map((field) => (
        <div key={field.name}>
          <dt>
            {field.label} <code class="field-name">{field.name}</code>
          </dt>
          <dd>
            {formatValue(field.value)}
            <FieldSource provenance={provenance[field.name]} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** `missing_required` and `missing_recommended`, with what they mean. */
export function MissingFields({
  required,
  recommended,
  kind,
}: {
  required: readonly string[];
  recommended: readonly string[];
  kind: "account" | "user";
}) {
  if (required.length === 0 && recommended.length === 0) {
    return <p class="notice notice-ok">Every required and recommended field of this {kind} is present.</p>;
  }
  const call = kind === "account" ? "group" : "identify";
  return (
    <div class="notice notice-warning" role="note" aria-label="Missing fields">
      {required.length > 0 && (
        <p>
          <strong>Missing required:</strong> {required.map((f, i) => [i > 0 && ", ", <code key={f}>{f}</code>])}.
        </p>
      )}
      {recommended.length > 0 && (
        <p>
          <strong>Missing recommended:</strong> {recommended.map((f, i) => [i > 0 && ", ", <code key={f}>{f}</code>])}.
        </p>
      )}
      <p>
        Send them as traits of a <code>{call}</code> call; the profile is kept and updated meanwhile.
      </p>
    </div>
  );
}

export function Traits({
  traits,
  provenance = {},
}: {
  traits: Readonly<Record<string, unknown>>;
  provenance?: Provenance;
}) {
  const entries = Object.entries(traits).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <p class="muted">No custom traits.</p>;
  return (
    <table>
      <caption>Custom traits</caption>
      <thead>
        <tr>
          <th scope="col">Trait</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {entries.map(([name, value]) => (
          <tr key={name}>
            <th scope="row">
              <code>{name}</code>
            </th>
            <td>
              {formatValue(value)}
              <FieldSource provenance={provenance[`traits.${name}`]} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
