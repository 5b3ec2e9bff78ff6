/** The Console: sign-in, then the pages over the read API. */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { createApiClient, defaultApiBaseUrl } from "./api";
import { ApiContext, useApi, useResource } from "./resource";
import { Link, type Route, useRoute } from "./router";
import { forgetApiKey, saveApiKey, savedApiKey } from "./session";
import { AccountView } from "./views/account";
import { AccountsView } from "./views/accounts";
import { EntityMapsView } from "./views/entity-maps";
import { FeedView } from "./views/feed";
import { PendingView } from "./views/pending";
import { RejectsView } from "./views/rejects";
import { SignIn } from "./views/sign-in";
import { SourcesView } from "./views/sources";
import { UserView } from "./views/user";

const pages = [
  { href: "/", label: "Live feed", is: (r: Route) => r.page === "feed" },
  { href: "/accounts", label: "Accounts", is: (r: Route) => r.page === "accounts" || r.page === "account" },
  { href: "/rejects", label: "Rejects", is: (r: Route) => r.page === "rejects" },
  { href: "/pending", label: "Pending calls", is: (r: Route) => r.page === "pending" },
  { href: "/entity-maps", label: "Entity maps", is: (r: Route) => r.page === "entity-maps" },
  { href: "/sources", label: "Sources", is: (r: Route) => r.page === "sources" },
] as const;

function titleOf(route: Route): string {
  switch (route.page) {
    case "account":
      return `Account ${route.accountId}`;
    case "user":
      return `User ${route.userId}`;
    case "not-found":
      return "Page not found";
    default:
      return pages.find((p) => p.is(route))?.label ?? "Console";
  }
}

export function App() {
  const baseUrl = useMemo(defaultApiBaseUrl, []);
  const [apiKey, setApiKey] = useState(savedApiKey);
  const [notice, setNotice] = useState<string | undefined>(undefined);

  const api = useMemo(
    () =>
      apiKey === undefined
        ? undefined
        : createApiClient(baseUrl, apiKey, {
            onUnauthorized: (error) => {
              forgetApiKey();
              setApiKey(undefined);
              setNotice(
                `The API no longer accepts this key (${error.code}): sign in with a current workspace API key.`,
              );
            },
          }),
    [baseUrl, apiKey],
  );

  if (!api) {
    return (
      <SignIn
        baseUrl={baseUrl}
        notice={notice}
        onSignedIn={(key) => {
          saveApiKey(key);
          setNotice(undefined);
          setApiKey(key);
        }}
      />
    );
  }
  return (
    <ApiContext.Provider value={api}>
      <Shell
        onSignOut={() => {
          forgetApiKey();
          setNotice(undefined);
          setApiKey(undefined);
        }}
      />
    </ApiContext.Provider>
  );
}

function Health() {
  const api = useApi();
  const health = useResource(() => api.health(), [api], { refreshMs: 10_000 });
  if (health.error !== undefined) return <span class="health health-down">API not answering</span>;
  if (!health.data) return <span class="health">Checking API…</span>;
  return (
    <span class="health health-ok" title={api.baseUrl}>
      API ok · {health.data.version}
    </span>
  );
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  const title = titleOf(route);

  // A new page: say so in the tab title, and move focus to it (as a full page load would).
  useEffect(() => {
    document.title = `${title} · Console`;
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [title]);

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="site-header">
        <div class="brand">
          <Link href="/">segment-ingest · Console</Link>
        </div>
        <nav aria-label="Console">
          <ul>
            {pages.map((p) => (
              <li key={p.href}>
                <Link href={p.href} aria-current={p.is(route) ? "page" : undefined}>
                  {p.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="session">
          <Health />
          <button type="button" class="secondary" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Page route={route} />
      </main>
    </>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "feed":
      return <FeedView />;
    case "accounts":
      return <AccountsView />;
    case "account":
      return <AccountView key={route.accountId} accountId={route.accountId} />;
    case "user":
      return <UserView key={route.userId} userId={route.userId} />;
    case "rejects":
      return <RejectsView />;
    case "pending":
      return <PendingView />;
    case "entity-maps":
      return <EntityMapsView />;
    case "sources":
      return <SourcesView />;
    case "not-found":
      return (
        <>
          <h1>Page not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. Go to the <Link href="/">live feed</Link>.
          </p>
        </>
      );
  }
}
