import { deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { httpStatusOf } from "../../../packages/core/src/http/status";
import { decodeContent } from "../../../packages/core/src/ingest/content-encoding";
import { requestLimits } from "../../../packages/core/src/ingest/limits";

const json = JSON.stringify({ batch: [{ type: "track", userId: "u1", event: "E" }] });

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

describe("decodeContent", () => {
  it("undoes gzip, x-gzip, deflate (zlib and raw), and leaves identity or no coding alone", () => {
    const text = (body: Uint8Array) => Buffer.from(body).toString("utf8");
    expect(text(decodeContent(gzipSync(json), "gzip", 1000))).toBe(json);
    expect(text(decodeContent(gzipSync(json), "X-Gzip", 1000))).toBe(json);
    expect(text(decodeContent(deflateSync(json), "deflate", 1000))).toBe(json);
    expect(text(decodeContent(deflateRawSync(json), "deflate", 1000))).toBe(json);
    expect(text(decodeContent(Buffer.from(json), "identity", 1000))).toBe(json);
    expect(text(decodeContent(Buffer.from(json), undefined, 1000))).toBe(json);
    // Several codings are undone in reverse order of application.
    expect(text(decodeContent(gzipSync(deflateSync(json)), "deflate, gzip", 1000))).toBe(json);
  });

  it("caps the inflated size: at the cap it passes, one byte over is 413 request.too_large", () => {
    const exact = Buffer.alloc(4096, 0x20);
    expect(decodeContent(gzipSync(exact), "gzip", 4096).byteLength).toBe(4096);
    const error = thrown(() => decodeContent(gzipSync(Buffer.alloc(4097, 0x20)), "gzip", 4096));
    expect(error).toMatchObject({ code: "request.too_large" });
    expect(httpStatusOf(error)).toBe(413);
  });

  it("stops inflating a bomb at the cap: 1 GiB of gzip members refused after holding at most the cap", () => {
    // 100 concatenated gzip members of 10 MiB of spaces each: ~1 MB on the wire, 1 GiB inflated.
    const member = gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 100 }, () => member));
    expect(bomb.byteLength).toBeLessThan(requestLimits.webhook.maxRequestBytes);
    const before = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    const error = thrown(() => decodeContent(bomb, "gzip", requestLimits.webhook.maxRequestBytes));
    const elapsedMs = performance.now() - started;
    const grownBytes = process.memoryUsage().arrayBuffers - before;
    console.log(
      `gzip bomb: ${bomb.byteLength} bytes inflating to 1 GiB refused in ${Math.round(elapsedMs)} ms, external memory +${grownBytes} bytes (cap ${requestLimits.webhook.maxRequestBytes})`,
    );
    expect(error).toMatchObject({ code: "request.too_large" });
    // Inflating all of it would take seconds and 1 GiB; stopping at the cap takes neither.
    expect(grownBytes).toBeLessThan(3 * requestLimits.webhook.maxRequestBytes);
    expect(elapsedMs).toBeLessThan(2000);
  });

  it("refuses an unknown coding with 415 and data that is not what its coding says with 400", () => {
    const unknown = thrown(() => decodeContent(Buffer.from(json), "br", 1000));
    expect(unknown).toMatchObject({ code: "request.content_encoding_unsupported" });
    expect(httpStatusOf(unknown)).toBe(415);
    const corrupt = thrown(() => decodeContent(Buffer.from(json), "gzip", 1000));
    expect(corrupt).toMatchObject({ code: "request.content_encoding_invalid" });
    expect(httpStatusOf(corrupt)).toBe(400);
  });
});
