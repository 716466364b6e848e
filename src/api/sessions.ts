import { randomBytes } from "node:crypto";

/** The dashboard's session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site sends it). */
export const SESSION_COOKIE = "baton_session";
const IDLE_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 1_000;

/**
 * Dashboard sessions: a random id handed out in exchange for the server's token at the login
 * page, so the token itself never sits in a cookie, a URL or the browser's history. In memory:
 * a restarted server asks people to log in again, which is the safe way round.
 */
export class Sessions {
  private readonly lastSeen = new Map<string, number>();

  constructor(private readonly idleMs = IDLE_MS) {}

  create(): string {
    if (this.lastSeen.size >= MAX_SESSIONS) {
      // Oldest first (a Map keeps insertion order, and touch() re-inserts).
      const oldest = this.lastSeen.keys().next().value;
      if (oldest !== undefined) this.lastSeen.delete(oldest);
    }
    const id = randomBytes(32).toString("base64url");
    this.lastSeen.set(id, Date.now());
    return id;
  }

  /** Whether the id is a live session; using it keeps it alive. */
  touch(id: string | undefined): boolean {
    if (id === undefined) return false;
    const seen = this.lastSeen.get(id);
    if (seen === undefined) return false;
    this.lastSeen.delete(id);
    if (Date.now() - seen > this.idleMs) return false;
    this.lastSeen.set(id, Date.now());
    return true;
  }

  end(id: string | undefined): void {
    if (id !== undefined) this.lastSeen.delete(id);
  }

  endAll(): void {
    this.lastSeen.clear();
  }
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
