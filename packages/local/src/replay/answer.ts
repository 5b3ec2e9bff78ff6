/** How a replay reads the stack's answers: the error code and message, and the calls a 200 refused. */

/** True when the request never reached a server: nothing listens at the URL. */
export function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } })?.cause;
  return cause?.code === "ECONNREFUSED";
}

/** What a replay keeps of one answer. */
export interface Answer {
  status: number;
  code?: string;
  message?: string;
  /** Calls a 200 answer refused on their own (issue 16: id rules, `delete` from the write key). */
  refused?: { count: number; problems: { code: string; message: string }[] };
}

/** Reads an answer's body: its code and message, and on a 2xx the calls it refused on their own. */
export async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown; refused?: unknown; problems?: unknown };
    const problems = Array.isArray(body.problems)
      ? body.problems.flatMap((p: { code?: unknown; message?: unknown }) =>
          typeof p?.code === "string" ? [{ code: p.code, message: String(p.message ?? "") }] : [],
        )
      : [];
    return {
      status: response.status,
      ...(typeof body.code === "string" ? { code: body.code } : {}),
      ...(typeof body.message === "string" ? { message: body.message } : {}),
      ...(response.ok && typeof body.refused === "number" && body.refused > 0
        ? { refused: { count: body.refused, problems } }
        : {}),
    };
  } catch {
    return { status: response.status, message: text.slice(0, 200) };
  }
}

/**
 * The calls a 200 answer refused on their own, by code, each with the first message of its code.
 * Problems beyond the listed ones are counted under the first code listed.
 *
 * @example
 * refusedByCode({ count: 3, problems: [{ code: "id.too_long", message: "userId is 2100 bytes" }] });
 * // Map { "id.too_long" => { calls: 3, message: "userId is 2100 bytes" } }
 */
export function refusedByCode(
  refused: NonNullable<Answer["refused"]>,
): Map<string, { calls: number; message: string }> {
  const byCode = new Map<string, { calls: number; message: string }>();
  for (const p of refused.problems) {
    const entry = byCode.get(p.code) ?? { calls: 0, message: p.message };
    entry.calls += 1;
    byCode.set(p.code, entry);
  }
  const unlisted = refused.count - refused.problems.length;
  const first = [...byCode.values()][0];
  if (first && unlisted > 0) first.calls += unlisted;
  return byCode;
}
