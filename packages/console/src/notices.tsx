/** Loading, empty and error states, worded for someone who has just connected Segment. */
import type { ComponentChildren } from "preact";
import { ApiError, ApiUnreachableError } from "./api";

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** Shown where a list is empty: what it means and what to do next. */
export function EmptyState({
  title,
  children,
  level = 2,
}: {
  title: string;
  children: ComponentChildren;
  /** The heading level: one below the section it is in. */
  level?: 2 | 3;
}) {
  const Heading = level === 2 ? "h2" : "h3";
  return (
    <section class="empty" aria-label={title}>
      <Heading>{title}</Heading>
      {children}
    </section>
  );
}

/** The replay command, the quickest way to see data locally. */
export function ReplayHint() {
  return (
    <p>
      Running the local stack? Send it the sample payloads with <code>npm run replay -- test/fixtures/*.json*</code>, or
      point a Segment webhook destination at <code>/v1/webhooks/segment/&lt;workspace&gt;</code>.
    </p>
  );
}

/** What went wrong, and what to try. */
export function ErrorNotice({ error, what }: { error: unknown; what: string }) {
  let title: string;
  let detail: ComponentChildren;
  if (error instanceof ApiUnreachableError) {
    title = "The API does not answer";
    detail = (
      <>
        Nothing answered at <code>{error.baseUrl}</code> while loading {what}. Locally, start the stack with{" "}
        <code>npm start</code> (it serves this page and the API on one port). On a deployed stage, check that the API is
        up and allows this page's origin.
      </>
    );
  } else if (error instanceof ApiError && error.status === 404) {
    title = "Not found";
    detail = (
      <>
        {error.message} (<code>{error.code}</code>).
      </>
    );
  } else if (error instanceof ApiError && error.status >= 500) {
    title = `The API failed while loading ${what}`;
    detail = (
      <>
        {error.message} (<code>{error.code}</code>, HTTP {error.status}). It retries by itself in a moment; if it keeps
        failing, look at the stack's log.
      </>
    );
  } else if (error instanceof ApiError) {
    title = `The API refused the request for ${what}`;
    detail = (
      <>
        {error.message} (<code>{error.code}</code>, HTTP {error.status}).
      </>
    );
  } else {
    title = `Something went wrong while loading ${what}`;
    detail = error instanceof Error ? error.message : String(error);
  }
  return (
    <div class="notice notice-error" role="alert">
      <p class="notice-title">{title}</p>
      <p>{detail}</p>
    </div>
  );
}
