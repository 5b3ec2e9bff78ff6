/** Sign in with a workspace API key; the key is checked against the API before it is kept. */
import { useState } from "preact/hooks";
import { ApiError, ApiUnreachableError, createApiClient } from "../api";

export function SignIn({
  baseUrl,
  notice,
  onSignedIn,
}: {
  baseUrl: string;
  /** Why the user is asked again (e.g. the key was refused). */
  notice: string | undefined;
  onSignedIn: (apiKey: string) => void;
}) {
  const [apiKey, setApiKey] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [checking, setChecking] = useState(false);

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const key = apiKey.trim();
    if (!key) {
      setError("Enter a workspace API key.");
      return;
    }
    setChecking(true);
    setError(undefined);
    try {
      await createApiClient(baseUrl, key).get("/v1/accounts", { limit: 1 });
      onSignedIn(key);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401) {
        setError(`The API refused this key (${caught.code}): ${caught.message}. Check that you copied the whole key.`);
      } else if (caught instanceof ApiUnreachableError) {
        setError(
          `Nothing answers at ${baseUrl}. Locally, start the stack with "npm start" and open the address it prints.`,
        );
      } else {
        setError(caught instanceof Error ? caught.message : String(caught));
      }
    } finally {
      setChecking(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <h1>Console</h1>
      <p>See what arrived from Segment, what it became, and what was refused.</p>
      {notice && (
        <p class="notice notice-error" role="alert">
          {notice}
        </p>
      )}
      <form onSubmit={submit} noValidate>
        <label for="api-key">Workspace API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          value={apiKey}
          onInput={(e) => setApiKey(e.currentTarget.value)}
          aria-describedby="api-key-help"
          aria-invalid={error ? true : undefined}
        />
        <p id="api-key-help" class="help">
          Kept in this tab only (session storage) and sent as <code>Authorization: Bearer</code> to{" "}
          <code>{baseUrl}</code>. Running locally? <code>npm start</code> prints it as “API key” and saves it as{" "}
          <code>apiKey</code> in <code>.data/dev-credentials.json</code>. Otherwise issue one with{" "}
          <code>npm run cli -- workspaces create-api-key --id &lt;workspace&gt;</code>.
        </p>
        {error && (
          <p class="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={checking}>
          {checking ? "Checking…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
