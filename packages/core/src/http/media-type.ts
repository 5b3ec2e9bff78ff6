/**
 * Content-Type, read once: every place that looks at a request's media type (ingest, the API's
 * uploads, the local stack's API Gateway stand-in) reads it through here.
 */

/**
 * The media type of a Content-Type header (`type/subtype`, lowercased, parameters dropped), or ""
 * when there is none.
 *
 * @example
 * mediaTypeOf("Application/JSON; charset=utf-8"); // "application/json"
 */
export function mediaTypeOf(contentType: string | undefined): string {
  return contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
}

/**
 * True for JSON's media types: `application/json` and any `application/*+json` (RFC 6839).
 *
 * @example
 * isJsonMediaType(mediaTypeOf("application/vnd.api+json")); // true
 */
export function isJsonMediaType(media: string): boolean {
  return media === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(media);
}
