import type { InboundRequest } from "./client-message.js";
import { HoldQueue } from "./hold.js";
import type { Pool } from "./pool.js";
import { AppStats } from "./stats.js";

export interface MaintenanceSpec {
  enabled: boolean;
  retryAfterS: number;
  /** Custom HTML page; baton's own page when absent. */
  html?: string;
}

export interface AppRouteSpec {
  name: string;
  domains: string[];
  /** Catches every Host no app claims. At most one app is the default. */
  isDefault?: boolean;
  maintenance?: MaintenanceSpec;
  /** While paused, requests are held (not failed) until resumed or the hold timeout. */
  paused?: boolean;
  /** null: back to the router's own default (--hold-timeout). */
  holdTimeoutMs?: number | null;
  /**
   * Ordinary requests one instance is given at a time (HAProxy's per-server maxconn); the rest wait
   * in the router's queue, first come first served, up to the hold timeout. 0 or absent: no limit.
   * WebSockets and event streams do not count.
   */
  maxRequestsPerInstance?: number;
  /** Plaintext requests get a 308 to the same URL over HTTPS (app.json `baton.https.redirect`). */
  redirectHttps?: boolean;
  /** Strict-Transport-Security max-age on responses over HTTPS; 0 or absent sends none. */
  hstsMaxAgeS?: number;
}

/** Cookie that pins a client to a Pool while two Pools share traffic (canary). */
export const STICKY_COOKIE = "baton_pool";
/** Header a tester sends to force a Release (or Pool id) during a canary. */
export const FORCE_RELEASE_HEADER = "x-baton-release";

export interface Choice {
  pool: Pool;
  /** Set when the client should be pinned to this Pool by cookie. */
  setSticky: boolean;
}

/**
 * The Host warm-up requests carry to an app's instances: its first domain that is not a wildcard
 * (undefined when it has none). Both halves of a deploy's warm-up use it, the routed one through
 * AppRoute.forwardHost.
 */
export function warmupHostHeader(domains: readonly string[]): string | undefined {
  return domains.find((d) => !d.startsWith("*."));
}

/**
 * One app as the router sees it: its domains, its active Pool and, during a canary, a second Pool
 * with a share of the traffic. The kamal-proxy "Service" with an active and a rollout LoadBalancer.
 */
export class AppRoute {
  domains: string[] = [];
  isDefault = false;
  maintenance: MaintenanceSpec = { enabled: false, retryAfterS: 60 };
  paused = false;
  holdTimeoutMs: number;
  /** See AppRouteSpec.maxRequestsPerInstance; 0 is no limit. */
  maxRequestsPerInstance = 0;
  active: Pool | null = null;
  canary: Pool | null = null;
  /** Percentage (0-100) of new clients sent to the canary Pool. */
  canaryWeight = 0;
  /**
   * The Pool a deploy prepared (connections open) and will swap or canary next; it routes no
   * user's request, only its warm-up host's (table.ts). Promoted as it is, connections and all.
   */
  prepared: Pool | null = null;
  /** The private Host that routes warm-up requests to `prepared`, while there is one. */
  warmupHost: string | null = null;
  /**
   * Only on a warm-up route (table.ts): the Host its requests carry to the instance instead of
   * the private warm-up name, the app's first domain that is not a wildcard. An app that checks
   * Host (Rails' config.hosts, Django's ALLOWED_HOSTS) then answers warm-up as it will answer its
   * users, instead of warming only its refusal.
   */
  forwardHost: string | undefined = undefined;
  sticky = true;
  redirectHttps = false;
  hstsMaxAgeS = 0;
  /** The Strict-Transport-Security value, built once; undefined when HSTS is off. */
  hsts: string | undefined = undefined;
  readonly stats: AppStats;
  readonly hold: HoldQueue;

  constructor(
    readonly name: string,
    defaultHoldTimeoutMs: number,
    maxHeld: number,
  ) {
    this.holdTimeoutMs = defaultHoldTimeoutMs;
    this.stats = new AppStats(name);
    this.hold = new HoldQueue(maxHeld);
  }

  /** The Pool for this request, or null when nothing can serve it now (the caller holds it). */
  choose(req: InboundRequest): Choice | null {
    if (this.paused) return null;
    const active = this.active;
    const canary = this.canary;
    if (canary === null || this.canaryWeight <= 0) {
      return active?.ready
        ? { pool: active, setSticky: false }
        : canary?.ready
          ? { pool: canary, setSticky: false }
          : null;
    }
    const forced = req.headers[FORCE_RELEASE_HEADER];
    if (typeof forced === "string") {
      for (const pool of [canary, active]) {
        if (pool !== null && (pool.release === forced || pool.id === forced) && pool.ready) {
          return { pool, setSticky: false };
        }
      }
    }
    if (this.sticky) {
      const pinned = stickyPoolId(req.headers.cookie);
      if (pinned !== undefined) {
        if (pinned === canary.id && canary.ready) return { pool: canary, setSticky: false };
        if (active !== null && pinned === active.id && active.ready) return { pool: active, setSticky: false };
      }
    }
    const preferCanary = this.canaryWeight >= 100 || Math.random() * 100 < this.canaryWeight;
    const first = preferCanary ? canary : active;
    const second = preferCanary ? active : canary;
    const pool = first?.ready ? first : second?.ready ? second : null;
    return pool === null ? null : { pool, setSticky: this.sticky };
  }

  spec(): AppRouteSpec {
    return {
      name: this.name,
      domains: [...this.domains],
      isDefault: this.isDefault,
      maintenance: { ...this.maintenance },
      paused: this.paused,
      holdTimeoutMs: this.holdTimeoutMs,
      maxRequestsPerInstance: this.maxRequestsPerInstance,
      redirectHttps: this.redirectHttps,
      hstsMaxAgeS: this.hstsMaxAgeS,
    };
  }
}

function stickyPoolId(cookieHeader: string | undefined): string | undefined {
  if (cookieHeader === undefined) return undefined;
  const at = cookieHeader.indexOf(`${STICKY_COOKIE}=`);
  if (at < 0 || (at > 0 && cookieHeader[at - 1] !== " " && cookieHeader[at - 1] !== ";")) return undefined;
  const start = at + STICKY_COOKIE.length + 1;
  const end = cookieHeader.indexOf(";", start);
  return decodeURIComponent(cookieHeader.slice(start, end < 0 ? undefined : end).trim());
}

export function stickyCookie(pool: Pool): string {
  return `${STICKY_COOKIE}=${encodeURIComponent(pool.id)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400`;
}
