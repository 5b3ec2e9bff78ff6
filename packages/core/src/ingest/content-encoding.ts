import { gunzipSync, inflateRawSync, inflateSync, type ZlibOptions } from "node:zlib";
import { LimitError, ValidationError } from "../errors";
import { describeBytes } from "./limits";

/** Content codings ingest undoes; `identity` (or no header) means the body is as it is. */
const decoders: Readonly<Record<string, (body: Uint8Array, options: ZlibOptions) => Buffer>> = {
  gzip: gunzipSync,
  "x-gzip": gunzipSync,
  // HTTP's "deflate" is the zlib format (RFC 1950), but some senders send raw DEFLATE (RFC 1951).
  deflate: (body, options) => {
    try {
      return inflateSync(body, options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "Z_DATA_ERROR") return inflateRawSync(body, options);
      throw error;
    }
  },
};

function codingsOf(header: string | undefined): string[] {
  return (header ?? "")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
}

/** Refuses a Content-Encoding ingest cannot undo: ValidationError `request.content_encoding_unsupported` (415). */
function checkContentEncoding(header: string | undefined): void {
  const unknown = codingsOf(header).find((c) => !Object.hasOwn(decoders, c));
  if (unknown !== undefined) {
    throw new ValidationError(
      "request.content_encoding_unsupported",
      `Content-Encoding ${JSON.stringify(unknown)} is not supported; send gzip, deflate or an uncompressed body`,
    );
  }
}

/**
 * The body with its Content-Encoding undone (gzip, deflate; several codings are undone last
 * first). The output is capped at `maxBytes` while it is produced, so a small body that inflates
 * to gigabytes (a zip bomb) is refused with 413 having held at most `maxBytes`, never the whole.
 *
 * @throws ValidationError `request.content_encoding_unsupported` for a coding it cannot undo (`br`).
 * @throws LimitError `request.too_large` when the decoded body would exceed `maxBytes`.
 * @throws ValidationError `request.content_encoding_invalid` when the body is not what its coding says.
 * @example
 * const body = decodeContent(request.body, request.headers["content-encoding"], 500 * 1024);
 */
export function decodeContent(body: Uint8Array, header: string | undefined, maxBytes: number): Uint8Array {
  checkContentEncoding(header);
  let decoded = body;
  for (const coding of codingsOf(header).reverse()) {
    const decode = decoders[coding] as (typeof decoders)[string];
    try {
      decoded = decode(decoded, { maxOutputLength: maxBytes });
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        throw new LimitError(
          "request.too_large",
          `Request body decompresses to more than ${describeBytes(maxBytes)}, the limit per request`,
          { cause },
        );
      }
      throw new ValidationError(
        "request.content_encoding_invalid",
        `Request body is not valid ${coding} data, as its Content-Encoding says`,
        { cause },
      );
    }
  }
  return decoded;
}
