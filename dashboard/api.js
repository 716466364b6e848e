// @ts-check
// The dashboard talks to the server's own API (the routes the CLI uses) under /api, with the
// session cookie the login page set, and listens to /events for everything live.

/** An API error as the server sends it: { error: { code, message, hint } }. */
export class ApiError extends Error {
  /** @param {string} code @param {string} message @param {string | undefined} hint */
  constructor(code, message, hint) {
    super(message);
    this.code = code;
    this.hint = hint;
  }
}

/** @param {Response} res */
async function parse(res) {
  if (res.status === 401) {
    // The session ended (server restarted, or signed out elsewhere): sign in again.
    location.assign("/login");
    throw new ApiError("BATON_UNAUTHORIZED", "signed out", undefined);
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = body?.error ?? {};
    throw new ApiError(e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText, e.hint);
  }
  return body;
}

/** @param {string} path */
export async function get(path) {
  return parse(await fetch(`/api${path}`, { credentials: "same-origin", cache: "no-store" }));
}

/** @param {string} path @param {unknown} body */
export async function post(path, body) {
  return parse(
    await fetch(`/api${path}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

/**
 * Server-sent events from /events: `deploy` (each deploy or instance event) and `traffic` (the
 * router's numbers, every second). EventSource reconnects by itself; `onState` tells the page.
 * @param {{ deploy: (e: any) => void, traffic: (s: any) => void, onState: (state: string) => void }} handlers
 */
export function live(handlers) {
  const source = new EventSource("/events");
  source.addEventListener("open", () => handlers.onState("live"));
  source.addEventListener("error", () => handlers.onState("reconnecting"));
  source.addEventListener("deploy", (e) => handlers.deploy(JSON.parse(/** @type {MessageEvent} */ (e).data)));
  source.addEventListener("traffic", (e) => handlers.traffic(JSON.parse(/** @type {MessageEvent} */ (e).data)));
  return source;
}
