/** What a reject's reason code means and how to fix it at the source, for the rejects page. */

const bySuffix: Record<string, string> = {
  nested_object:
    "Nested objects are not stored. Flatten the value into separate keys (address_city, address_zip) or send it as a string.",
  invalid_array: "Arrays must hold only strings or only numbers. Split mixed arrays or send them as a string.",
  invalid_number: "Numbers must be finite. Send null to clear a value instead of NaN or Infinity.",
  invalid_type: "Allowed values are strings, finite numbers, booleans, zoned ISO-8601 times and flat arrays.",
  forbidden_key: "Keys such as __proto__ and constructor are never stored. Rename the key.",
  too_large: "The value is too large to store. Send a shorter value or a reference to it.",
};

const byCode: Record<string, string> = {
  "time.no_zone": "Times need a zone (2024-05-01T12:00:00Z). A time without one is ambiguous and is not stored.",
  "time.invalid": "The time could not be read. Send ISO-8601 with a zone (2024-05-01T12:00:00Z).",
  "id.invalid": "Ids must be non-empty strings or numbers.",
  "id.unmapped": "The id comes from a source with no entity map entry for it. Upload one on the Entity maps page.",
  "envelope.invalid": "The call is not a valid Segment call (type, ids or shape). Check it in your Segment debugger.",
  "message.invalid": "The queued message could not be read. It is kept here so nothing is lost.",
  "user.deleted": "The user was deleted (a Segment delete call); later calls for that user are not stored.",
};

export function reasonHint(code: string): string | undefined {
  return byCode[code] ?? bySuffix[code.slice(code.indexOf(".") + 1)];
}
