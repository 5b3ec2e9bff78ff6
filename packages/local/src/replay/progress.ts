import { type Options, SingleBar } from "cli-progress";
import type { SendOutcome } from "./send";

/**
 * A replay's progress: on a terminal a bar redrawn in place by cli-progress (its bar, value
 * formatting, redraw-on-change and frame rate); anywhere else a plain line every few seconds, so a
 * log or CI output never fills with redraws.
 */

/** Where progress goes: a terminal gets a bar redrawn in place, anything else a line now and then. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** The counts shown after the bar (and alone on plain lines). */
function describe(o: Readonly<SendOutcome>, total: number): string {
  return `${o.sentCalls}/${total} calls · ${o.acceptedCalls} accepted · ${o.rejectedCalls} rejected · ${o.retries} retried`;
}

/**
 * The line cli-progress draws on, over a plain stream: a redraw is `\r` and the line (cut to the
 * terminal's width, so it never wraps into a new line on every redraw), and nothing else is sent:
 * no cursor, wrapping or clearing escapes, which a log of the stream would keep as noise.
 */
function lineTerminal(stream: ProgressStream) {
  let pending = "";
  // A terminal that reports no size (0 columns, as under `script`) is taken as wide enough.
  const width = () => (stream.columns !== undefined && stream.columns > 0 ? stream.columns : Number.POSITIVE_INFINITY);
  const none = () => {};
  return {
    isTTY: () => true,
    getWidth: () => (Number.isFinite(width()) ? width() : 200),
    cursorTo: (x: number | null) => {
      if (x === 0) pending = "\r";
    },
    write: (text: string) => {
      stream.write(`${pending}${Number.isFinite(width()) ? text.slice(0, Math.max(0, width() - 1)) : text}`);
      pending = "";
    },
    newline: () => stream.write("\n"),
    clearRight: none,
    clearLine: none,
    cursor: none,
    cursorSave: none,
    cursorRestore: none,
    lineWrapping: none,
  };
}

function terminalBar(stream: ProgressStream) {
  const bar = new SingleBar({
    format: "[{bar}] {percentage}% {counts}",
    barsize: 30,
    barCompleteChar: "#",
    barIncompleteChar: "-",
    formatValue: (value, _options, type) => (type === "percentage" ? String(value).padStart(3) : String(value)),
    fps: 12.5,
    hideCursor: null,
    linewrap: null,
    // cli-progress's own option for drawing on a terminal it is given (it has no type for it).
    terminal: lineTerminal(stream),
  } as Options);
  let started = false;
  return {
    update: (outcome: Readonly<SendOutcome>, total: number) => {
      const payload = { counts: describe(outcome, total) };
      if (started) bar.update(outcome.sentCalls, payload);
      else bar.start(total, outcome.sentCalls, payload);
      started = true;
    },
    finish: () => {
      if (started) bar.stop();
    },
  };
}

function periodicLines(stream: ProgressStream, intervalMs: number) {
  let last = 0;
  return {
    update: (outcome: Readonly<SendOutcome>, total: number) => {
      const now = Date.now();
      if (now - last < intervalMs) return;
      if (last !== 0) stream.write(`replay: ${describe(outcome, total)}\n`);
      last = now;
    },
    finish: () => {},
  };
}

/**
 * A progress display on `stream`: a bar when it is a terminal, else a line every `intervalMs`.
 * Call `finish` once sending is over (it draws the final state and ends the bar's line).
 *
 * @example
 * const progress = progressDisplay(process.stderr);
 * try {
 *   await sendRequests(requests, settings, progress.update);
 * } finally {
 *   progress.finish();
 * }
 */
export function progressDisplay(stream: ProgressStream, intervalMs = 2000) {
  return stream.isTTY ? terminalBar(stream) : periodicLines(stream, intervalMs);
}
