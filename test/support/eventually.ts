/**
 * Waiting for state that the pipeline writes asynchronously (normalize runs behind the queue).
 *
 * A wait must wait for the very state its test then asserts: `check` is that assertion (it throws,
 * usually through `expect`, until the state is there). A wait that gives up throws, naming what it
 * waited for, the last value it read and the last assertion failure, instead of handing a stale
 * read to the assertions that follow.
 *
 * @example
 * const rejects = await eventually(
 *   () => api("/v1/rejects"),
 *   (r) => expect(r.body.items.map((i) => i.code)).toContain("trait.nested_object"),
 *   { what: "the nested-trait reject" },
 * );
 */
export async function eventually<T>(
  read: () => Promise<T>,
  check: (value: T) => unknown,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 200, what = "the expected state" } = options;
  const started = Date.now();
  let last: { value?: T; readError?: unknown; checkError?: unknown } = {};
  for (;;) {
    try {
      const value = await read();
      last = { value };
      try {
        if (check(value) !== false) return value;
        last.checkError = new Error("the check returned false");
      } catch (error) {
        last.checkError = error;
      }
    } catch (error) {
      last = { readError: error };
    }
    if (Date.now() - started >= timeoutMs) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const parts = [`gave up waiting for ${what} after ${Date.now() - started} ms`];
  if ("readError" in last) parts.push(`the last read failed: ${message(last.readError)}`);
  else parts.push(`last value read: ${preview(last.value)}`, `last check: ${message(last.checkError)}`);
  throw new Error(parts.join("\n"), { cause: last.checkError ?? last.readError });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 4000 ? `${text.slice(0, 4000)}… (${text.length} characters)` : text;
}
