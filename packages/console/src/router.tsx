/**
 * A small History API router: the Console's pages are real paths (`/accounts/acme`), which the
 * local stack and the deployed site answer with index.html. None starts like an API path (`/v1`,
 * `/health`, `/openapi.json`), so a page can never hide an API route.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { type Route, routeOf } from "./routes";

export { accountHref, type Route, userHref } from "./routes";

const changed = "console:navigate";

/** Goes to a Console path without reloading the page. */
export function navigate(href: string): void {
  if (href === window.location.pathname + window.location.search) return;
  window.history.pushState(null, "", href);
  window.dispatchEvent(new Event(changed));
}

/** The current route; re-renders on links, back and forward. */
export function useRoute(): Route {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const update = () => setPath(window.location.pathname);
    window.addEventListener("popstate", update);
    window.addEventListener(changed, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(changed, update);
    };
  }, []);
  return routeOf(path);
}

/** A link to a Console page: a real `<a href>` (open in a new tab works), followed in place on a plain click. */
export function Link({
  href,
  children,
  class: className,
  "aria-current": current,
}: {
  href: string;
  children: ComponentChildren;
  class?: string;
  "aria-current"?: "page";
}) {
  const onClick = (event: MouseEvent) => {
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    )
      return;
    event.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} class={className} aria-current={current} onClick={onClick}>
      {children}
    </a>
  );
}
