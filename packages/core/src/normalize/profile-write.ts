/** One call's writes to one account or user profile. */
import type { Problem } from "./problem";
import { CUSTOM_TRAIT_PREFIX, knownTraitNames, type ProfileKind, readKnownFields } from "./profile-fields";
import { type FieldValue, MAX_CUSTOM_TRAITS, typeCustomValues } from "./value";

/**
 * Fields one call writes to one profile, by canonical name (`plan_name`) or `traits.<key>` for custom
 * traits. `null` clears the field. An empty `fields` still says the profile exists.
 */
export interface ProfileWrite {
  kind: ProfileKind;
  id: string;
  fields: Record<string, FieldValue>;
}

/**
 * Builds a profile write from traits: known fields under their canonical names (aliases applied),
 * every other trait as a typed custom trait, at most {@link MAX_CUSTOM_TRAITS} of them.
 *
 * @param isConsumed traits read for another purpose (membership) and so not stored as custom traits.
 * @example
 * profileWrite("user", "u1", { firstName: "Ada", favourite_color: "teal" });
 * // { write: { kind: "user", id: "u1", fields: { first_name: "Ada", "traits.favourite_color": "teal" } }, problems: [] }
 */
export function profileWrite(
  kind: ProfileKind,
  id: string,
  traits: Record<string, unknown>,
  isConsumed: (key: string, value: unknown) => boolean = () => false,
): { write: ProfileWrite; problems: Problem[] } {
  const known = readKnownFields(kind, traits);
  const skip = new Set(knownTraitNames(kind));
  for (const key of Object.keys(traits)) if (isConsumed(key, traits[key])) skip.add(key);
  const custom = typeCustomValues("trait", traits, { skip, maxKeys: MAX_CUSTOM_TRAITS });
  const customEntries = custom.entries.map(([key, value]): [string, FieldValue] => [CUSTOM_TRAIT_PREFIX + key, value]);
  return {
    write: { kind, id, fields: Object.fromEntries([...known.entries, ...customEntries]) },
    problems: [...known.problems, ...custom.problems],
  };
}
