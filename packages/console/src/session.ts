/**
 * The workspace API key lives in this tab's sessionStorage only: it is gone when the tab closes,
 * never written to localStorage, a cookie or a URL.
 */
const storageKey = "segment-ingest.console.api-key";

export function savedApiKey(): string | undefined {
  try {
    return window.sessionStorage.getItem(storageKey) ?? undefined;
  } catch {
    return undefined;
  }
}

export function saveApiKey(apiKey: string): void {
  window.sessionStorage.setItem(storageKey, apiKey);
}

export function forgetApiKey(): void {
  window.sessionStorage.removeItem(storageKey);
}
