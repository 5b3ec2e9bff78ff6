/** Loading data from the API into a view: once, or again every few seconds. */
import { createContext } from "preact";
import { useContext, useEffect, useRef, useState } from "preact/hooks";
import type { ApiClient } from "./api";

export const ApiContext = createContext<ApiClient | undefined>(undefined);

/** The signed-in API client. */
export function useApi(): ApiClient {
  const api = useContext(ApiContext);
  if (!api) throw new Error("useApi outside the signed-in app");
  return api;
}

export interface Resource<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** When the data last arrived. */
  updatedAt: Date | undefined;
  reload(): void;
}

/**
 * Runs `load` when `deps` change, and every `refreshMs` after the previous load ends (skipped
 * while the tab is hidden). The last data stays on screen while a refresh runs or fails.
 */
export function useResource<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  options: { refreshMs?: number } = {},
): Resource<T> {
  const [state, setState] = useState<Omit<Resource<T>, "reload">>({
    data: undefined,
    error: undefined,
    loading: true,
    updatedAt: undefined,
  });
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  // The caller's deps decide when to load again (`load` is read through a ref).
  useEffect(() => {
    let active = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (refresh: boolean) => {
      if (!active) return;
      if (refresh && document.hidden) {
        timer = setTimeout(() => void run(true), options.refreshMs);
        return;
      }
      setState((previous) => ({ ...previous, loading: true }));
      try {
        const data = await loadRef.current();
        if (active) setState({ data, error: undefined, loading: false, updatedAt: new Date() });
      } catch (error) {
        if (active) setState((previous) => ({ ...previous, error, loading: false }));
      }
      if (active && options.refreshMs !== undefined) timer = setTimeout(() => void run(true), options.refreshMs);
    };
    setState({ data: undefined, error: undefined, loading: true, updatedAt: undefined });
    void run(false);
    return () => {
      active = false;
      if (timer) clearTimeout(timer);
    };
  }, [...deps, generation, options.refreshMs]);

  return { ...state, reload: () => setGeneration((g) => g + 1) };
}
