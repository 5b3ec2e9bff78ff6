/**
 * The derived account avatar (spec 3, account `avatar_url`): when none was sent, the website's
 * favicon, else a generated initials image. Pure and deterministic: the same account always gets the
 * same image.
 */

// Dark enough for white initials to stay readable.
const COLORS = ["#1f6feb", "#8250df", "#bf3989", "#cf222e", "#bc4c00", "#4d7c0f", "#0f766e", "#57606a"];

/**
 * The favicon URL of a website's domain, or `undefined` if the website has no usable domain.
 *
 * @example
 * faviconUrl("acme.com/about");       // "https://acme.com/favicon.ico"
 * faviconUrl("http://www.acme.io");   // "https://www.acme.io/favicon.ico"
 */
export function faviconUrl(website: string): string | undefined {
  const text = website.trim();
  if (text === "") return undefined;
  // Customers often send a bare domain; URL needs a scheme to find the host.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  // A domain has at least one dot; this also rules out IPv6 literals and "localhost".
  if (!/^[a-z0-9-]+(?:\.[a-z0-9-]+)+$/.test(url.hostname)) return undefined;
  return `https://${url.hostname}/favicon.ico`;
}

/**
 * A square SVG with up to two initials on a colour picked from the seed, as a `data:` URI.
 *
 * @example
 * initialsAvatar("Acme Rockets", "acc_1"); // "data:image/svg+xml,%3Csvg…AR…"
 */
export function initialsAvatar(label: string, seed: string): string {
  const initials = initialsOf(label) || "?";
  const color = COLORS[hash(seed) % COLORS.length] ?? "#57606a";
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">` +
    `<rect width="128" height="128" rx="24" fill="${color}"/>` +
    `<text x="64" y="64" dy=".35em" text-anchor="middle" font-family="Helvetica,Arial,sans-serif" ` +
    `font-size="52" font-weight="600" fill="#ffffff">${initials}</text></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

function initialsOf(label: string): string {
  // Letters and digits only: nothing that could need escaping inside the SVG.
  const words = label.split(/[^\p{L}\p{N}]+/u).filter((word) => word !== "");
  return words
    .slice(0, 2)
    .map((word) => Array.from(word)[0] ?? "")
    .join("")
    .toUpperCase();
}

// FNV-1a: small, stable across runtimes, enough to spread colours.
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
