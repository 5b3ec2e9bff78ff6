/**
 * A handler's dependencies, made on first use and then shared by every invocation of the container
 * (clients, caches). A failure is not kept: the next invocation tries again, so one throttled or
 * timed-out start does not break the container for good.
 *
 * @example
 * const deps = onFirstUse(async () => createIngestDependencies(await loadConfig()));
 * const { credentials } = await deps();
 */
export function onFirstUse<T>(make: T | (() => Promise<T>)): () => Promise<T> {
  let ready: Promise<T> | undefined;
  return () => {
    ready ??= (typeof make === "function" ? (make as () => Promise<T>)() : Promise.resolve(make)).catch(
      (error: unknown) => {
        ready = undefined;
        throw error;
      },
    );
    return ready;
  };
}
