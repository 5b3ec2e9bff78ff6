import type { MeasuredCall } from "../../ingest/calls";

/**
 * Each call's own text, sliced from the request body, so ingest queues the bytes the sender sent
 * instead of serialising every parsed call again. One pass over the text, which also answers the
 * nesting-depth check `parseJsonBody` makes before parsing.
 */

/**
 * The text of each top-level call of a JSON body: for an array body, each element that is an
 * object, by its index in the array (other elements have none); for an object body, index 0. A
 * call's text is given only when the parsed call serialises to no more bytes than the text and
 * reads back as the same value: a number with an exponent (`1e400`) or of 16 digits or more can
 * parse to something `JSON.stringify` writes differently (`null`, a longer form), so such a call
 * has no text and is serialised as before.
 */
export type CallTexts = (MeasuredCall | undefined)[];

// Character codes the scan looks at.
const quote = 0x22;
const backslash = 0x5c;
const openArray = 0x5b;
const closeArray = 0x5d;
const openObject = 0x7b;
const closeObject = 0x7d;
const comma = 0x2c;
const dot = 0x2e;
const zero = 0x30;
const nine = 0x39;
const lowerE = 0x65;
const upperE = 0x45;

/** Digits in a number from which its serialisation may differ from its text. */
const longNumberDigits = 16;

/**
 * Scans a JSON text once: undefined when arrays and objects nest deeper than `maxDepth` (brackets
 * inside strings do not count), else the texts of its calls (`CallTexts`); `ascii` says the text is
 * all ASCII (each unit one byte, nothing for SQS to refuse), which lets it skip through strings. The text need not be
 * valid JSON; the spans are only meaningful once `JSON.parse` accepted it.
 *
 * The UTF-8 bytes are counted on the way (the text came from valid UTF-8, so it holds no lone
 * surrogate), and so is any character SQS refuses (astral ones, U+FFFE, U+FFFF).
 *
 * @example
 * scanCallTexts('[{"type":"track"}, 1]', 64); // [{ text: '{"type":"track"}', bytes: 16, sqsSafe: true }, undefined]
 */
export function scanCallTexts(text: string, maxDepth: number, ascii = false): CallTexts | undefined {
  const texts: CallTexts = [];
  let depth = 0;
  let inString = false;
  // The call (depth-1 object of an array body, or the root object) being read.
  const callDepth = firstNonSpace(text) === openArray ? 2 : 1;
  let index = 0;
  let start = -1;
  let exact = true;
  let digits = 0;
  let afterDigit = false;
  let extraBytes = 0;
  let sqsSafe = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString && ascii) {
      // All ASCII: nothing to count inside a string, so jump to the quote that ends it.
      i = stringEnd(text, i);
      inString = false;
      continue;
    }
    if (inString) {
      if (c === backslash) i++;
      else if (c === quote) inString = false;
      else if (c >= 0x80) {
        // UTF-8: up to U+07FF two bytes, the rest of the BMP three, a surrogate pair four.
        if (c < 0x800) extraBytes += 1;
        else if (c >= 0xd800 && c <= 0xdfff) {
          extraBytes += 1;
          sqsSafe = false;
        } else {
          extraBytes += 2;
          if (c >= 0xfffe) sqsSafe = false;
        }
      }
      continue;
    }
    if (c >= zero && c <= nine) {
      if (++digits >= longNumberDigits) exact = false;
      afterDigit = true;
      continue;
    }
    if ((c === lowerE || c === upperE) && afterDigit) exact = false;
    afterDigit = false;
    if (c !== dot) digits = 0;
    if (c === quote) inString = true;
    else if (c === openArray || c === openObject) {
      if (++depth > maxDepth) return undefined;
      if (depth === callDepth && c === openObject) {
        start = i;
        exact = true;
        extraBytes = 0;
        sqsSafe = true;
      }
    } else if (c === closeArray || c === closeObject) {
      if (depth === callDepth && start >= 0) {
        if (exact && c === closeObject) {
          texts[index] = { text: text.slice(start, i + 1), bytes: i + 1 - start + extraBytes, sqsSafe };
        }
        start = -1;
      }
      depth--;
    } else if (c === comma && depth === 1 && callDepth === 2) index++;
  }
  return texts;
}

/** The index of the quote that ends the string whose text starts at `from` (or the text's end). */
function stringEnd(text: string, from: number): number {
  let end = from - 1;
  for (;;) {
    end = text.indexOf('"', end + 1);
    if (end < 0) return text.length;
    let backslashes = 0;
    while (end - backslashes - 1 >= from && text.charCodeAt(end - backslashes - 1) === backslash) backslashes++;
    if (backslashes % 2 === 0) return end;
  }
}

function firstNonSpace(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return c;
  }
  return -1;
}
