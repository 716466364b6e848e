import { BatonError } from "../core/errors.js";
import { AppRoute, type AppRouteSpec, type MaintenanceSpec, warmupHostHeader } from "./app-route.js";
import { Pool, type PoolSpec } from "./pool.js";
import { Target } from "./target.js";

export interface TableLimits {
  holdTimeoutMs: number;
  maxHeldPerApp: number;
  maxFreeSocketsPerTarget: number;
  freeSocketTimeoutMs: number;
}

export interface AppSnapshot extends AppRouteSpec {
  active: PoolSpec | null;
  canary: { pool: PoolSpec; weight: number; sticky: boolean } | null;
}

export interface TableSnapshot {
  version: 1;
  apps: AppSnapshot[];
}

/** Two years: what the HSTS preload list asks for, and more than anyone needs. */
export const MAX_HSTS_MAX_AGE_S = 63_072_000;
/** Per-instance request limit's ceiling: above it a limit protects nothing. */
export const MAX_REQUESTS_PER_INSTANCE = 100_000;
const APP_NAME = /^[a-z][a-z0-9-]{0,62}$/;
/** A domain the router accepts: a lowercase host name, or a wildcard `*.` before one. */
export const HOST_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** Warm-up hosts (prepare()) are names under this domain, which no DNS resolves (RFC 2606). */
export const WARMUP_DOMAIN = ".baton.invalid";

/**
 * The routing table: apps by name and by Host, their Pools, and the Targets those Pools share.
 * Every change goes through a method here, so `onChange` (which persists the snapshot) sees all.
 * Pools taken out of service are kept in `handedBack` until their caller drains them.
 */
export class RoutingTable {
  readonly apps = new Map<string, AppRoute>();
  private readonly byHost = new Map<string, AppRoute>();
  private readonly wildcards: Array<[suffix: string, app: AppRoute]> = [];
  private defaultApp: AppRoute | undefined;
  private readonly targets = new Map<string, Target>();
  readonly handedBack = new Map<string, { app: string; pool: Pool }>();
  /**
   * Warm-up hosts of prepared Pools, each with a route of its own: its requests take the path
   * users' requests will take after the swap, and its stats are its own, never the app's.
   */
  private readonly warmupRoutes = new Map<string, AppRoute>();
  onChange: () => void = () => {};

  constructor(private readonly limits: TableLimits) {}

  /** The app for a Host header value (port and case ignored), else the default app. */
  resolve(hostHeader: string | undefined): AppRoute | undefined {
    if (hostHeader !== undefined && hostHeader !== "") {
      const host = hostOnly(hostHeader);
      const exact = this.byHost.get(host);
      if (exact !== undefined) return exact;
      // A warm-up host reaches its prepared Pool or nothing: never an app's wildcard or the
      // default app (after a router restart, which forgets prepared Pools, say).
      if (host.endsWith(WARMUP_DOMAIN)) return this.warmupRoutes.get(host);
      for (const [suffix, app] of this.wildcards) if (host.endsWith(suffix)) return app;
    }
    return this.defaultApp;
  }

  app(name: string): AppRoute {
    const app = this.apps.get(name);
    if (app === undefined) {
      throw new BatonError("BATON_ADMIN_NOT_FOUND", `no app named "${name}" in the routing table`, {
        details: { app: name },
        hint: "create it first with PUT /apps/<name>",
      });
    }
    return app;
  }

  putApp(spec: AppRouteSpec): AppRoute {
    const problems: string[] = [];
    if (!APP_NAME.test(spec.name)) problems.push(`name "${spec.name}" must match ${APP_NAME}`);
    problems.push(...specShapeProblems(spec));
    const domains = Array.isArray(spec.domains)
      ? spec.domains.filter((d): d is string => typeof d === "string").map((d) => d.toLowerCase())
      : [];
    for (const domain of domains) {
      if (!HOST_NAME.test(domain)) problems.push(`domain "${domain}" is not a host name`);
      const owner = this.resolveExact(domain);
      if (owner !== undefined && owner.name !== spec.name)
        problems.push(`domain "${domain}" already belongs to app "${owner.name}"`);
    }
    const hold = spec.holdTimeoutMs;
    if (hold !== undefined && hold !== null && !(hold >= 0 && hold <= 600_000)) {
      problems.push("holdTimeoutMs must be between 0 and 600000");
    }
    const limit = spec.maxRequestsPerInstance;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0 && limit <= MAX_REQUESTS_PER_INSTANCE)) {
      problems.push(`maxRequestsPerInstance must be an integer from 0 (no limit) to ${MAX_REQUESTS_PER_INSTANCE}`);
    }
    if (spec.redirectHttps !== undefined && typeof spec.redirectHttps !== "boolean") {
      problems.push("redirectHttps must be true or false");
    }
    const hsts = spec.hstsMaxAgeS;
    if (hsts !== undefined && !(Number.isInteger(hsts) && hsts >= 0 && hsts <= MAX_HSTS_MAX_AGE_S)) {
      problems.push(`hstsMaxAgeS must be an integer from 0 to ${MAX_HSTS_MAX_AGE_S}`);
    }
    if (problems.length > 0) {
      throw new BatonError("BATON_CONFIG_INVALID", `app "${spec.name}": ${problems.join("; ")}`, {
        details: { problems },
      });
    }
    let app = this.apps.get(spec.name);
    if (app === undefined) {
      app = new AppRoute(spec.name, this.limits.holdTimeoutMs, this.limits.maxHeldPerApp);
      this.apps.set(spec.name, app);
    }
    app.domains = domains;
    // A prepared Pool's warm-up forwards the app's first non-wildcard domain as Host (none: its
    // own name): from the domains the app has now.
    const warmup = app.warmupHost === null ? undefined : this.warmupRoutes.get(app.warmupHost);
    if (warmup !== undefined) warmup.forwardHost = warmupHostHeader(domains);
    if (hold !== undefined) app.holdTimeoutMs = hold ?? this.limits.holdTimeoutMs;
    // A raised limit frees slots at once: changed() below hands the queue back to be served.
    if (limit !== undefined) app.maxRequestsPerInstance = limit;
    if (spec.maintenance !== undefined) app.maintenance = { ...spec.maintenance };
    if (spec.paused !== undefined) app.paused = spec.paused;
    if (spec.redirectHttps !== undefined) app.redirectHttps = spec.redirectHttps;
    if (hsts !== undefined) {
      app.hstsMaxAgeS = hsts;
      app.hsts = hsts === 0 ? undefined : `max-age=${hsts}`;
    }
    if (spec.isDefault === true) {
      if (this.defaultApp !== undefined && this.defaultApp !== app) this.defaultApp.isDefault = false;
      this.defaultApp = app;
      app.isDefault = true;
    } else if (spec.isDefault === false && this.defaultApp === app) {
      this.defaultApp = undefined;
      app.isDefault = false;
    }
    this.reindexHosts();
    this.changed(app);
    return app;
  }

  /** Remove an app; its Pools are handed back for draining. */
  removeApp(name: string): Pool[] {
    const app = this.app(name);
    this.apps.delete(name);
    if (this.defaultApp === app) this.defaultApp = undefined;
    this.reindexHosts();
    const pools = [app.active, app.canary].filter((p): p is Pool => p !== null);
    for (const pool of pools) this.handBack(app, pool);
    this.dropPrepared(app);
    app.hold.expireAll();
    this.onChange();
    return pools;
  }

  /** Make `spec` the app's active Pool at once; the previous active Pool is handed back. */
  swap(name: string, spec: PoolSpec): { previous: Pool | null; active: Pool } {
    const app = this.app(name);
    const previous = app.active;
    if (previous?.id === spec.id) {
      throw new BatonError("BATON_ADMIN_CONFLICT", `pool "${spec.id}" is already active for app "${name}"`);
    }
    // Promoting the canary or the prepared Pool: reuse its Pool object so its Targets keep their
    // in-flight counts and its connections.
    const next = app.canary?.id === spec.id ? app.canary : (this.takePrepared(app, spec) ?? this.buildPool(name, spec));
    if (app.canary === next) {
      app.canary = null;
      app.canaryWeight = 0;
    }
    app.active = next;
    if (previous !== null) this.handBack(app, previous);
    this.changed(app);
    return { previous, active: next };
  }

  /**
   * Ahead of a swap (or a canary): build the Pool of `spec` and open keep-alive connections to its
   * Targets, as many per Target as the app's current load will need at once (its in-flight
   * requests spread over the new Targets, doubled for headroom). Routes no user's request. With
   * `warmupHost`, requests whose Host is that name go to this Pool: a deploy's warm-up through
   * the router, over the connections and the code users' requests will meet after the swap,
   * counted in a route of its own. The Pool stays prepared until a swap or a canary promotes it,
   * another prepare replaces it, or unprepare drops it. Again with the same id, it only opens
   * connections (and sets the warm-up host when given).
   */
  prepare(name: string, spec: PoolSpec, warmupHost?: string): { connections: number; warmupHost: string | null } {
    const app = this.app(name);
    // Already routed (a canary about to be promoted): only its connections, nothing to prepare.
    const routed = [app.active, app.canary].find((p) => p?.id === spec.id);
    if (routed !== undefined && routed !== null) return { connections: this.preconnect(app, routed), warmupHost: null };
    if (warmupHost !== undefined) this.checkWarmupHost(app, warmupHost);
    let pool = app.prepared;
    if (pool === null || !sameTargets(pool, spec)) {
      pool = this.buildPool(name, spec);
      const replaced = app.prepared;
      this.clearWarmupHost(app);
      app.prepared = pool;
      if (replaced !== null) this.closeUnused(replaced);
    }
    if (warmupHost !== undefined && app.warmupHost !== warmupHost) {
      this.clearWarmupHost(app);
      const route = new AppRoute(name, 0, this.limits.maxHeldPerApp);
      route.active = pool;
      route.forwardHost = warmupHostHeader(app.domains);
      this.warmupRoutes.set(warmupHost, route);
      app.warmupHost = warmupHost;
    }
    return { connections: this.preconnect(app, pool), warmupHost: app.warmupHost };
  }

  /** Connections for the app's load spread over `pool`'s Targets, doubled for headroom. */
  private preconnect(app: AppRoute, pool: Pool): number {
    let inFlight = 0;
    for (const p of [app.active, app.canary]) for (const t of p?.targets ?? []) inFlight += t.inFlight;
    const perTarget = Math.max(2, Math.ceil((2 * inFlight) / Math.max(1, pool.targets.length)));
    let opened = 0;
    for (const t of pool.targets) opened += t.preconnect(perTarget);
    return opened;
  }

  /**
   * Drop the app's prepared Pool (its deploy stopped before the swap): its warm-up host routes no
   * more and the connections to Targets no live Pool uses are closed. The Pool's spec, or null.
   */
  unprepare(name: string): PoolSpec | null {
    const app = this.apps.get(name);
    return app === undefined ? null : (this.dropPrepared(app)?.spec() ?? null);
  }

  private dropPrepared(app: AppRoute): Pool | null {
    const pool = app.prepared;
    this.clearWarmupHost(app);
    app.prepared = null;
    if (pool !== null) this.closeUnused(pool);
    return pool;
  }

  /** The prepared Pool when it is the one `spec` describes, taken out of preparation to be routed. */
  private takePrepared(app: AppRoute, spec: PoolSpec): Pool | undefined {
    const pool = app.prepared;
    if (pool === null || !sameTargets(pool, spec)) return undefined;
    this.clearWarmupHost(app);
    app.prepared = null;
    return pool;
  }

  private clearWarmupHost(app: AppRoute): void {
    if (app.warmupHost !== null) this.warmupRoutes.delete(app.warmupHost);
    app.warmupHost = null;
  }

  /** A warm-up host is a name under WARMUP_DOMAIN, which no app can serve, and one Pool's only. */
  private checkWarmupHost(app: AppRoute, host: string): void {
    const problems: string[] = [];
    if (typeof host !== "string" || !HOST_NAME.test(host) || !host.endsWith(WARMUP_DOMAIN)) {
      problems.push(`warmupHost "${String(host)}" must be a host name under ${WARMUP_DOMAIN.slice(1)}`);
    } else if (this.warmupRoutes.has(host) && app.warmupHost !== host) {
      problems.push(`warmupHost "${host}" is in use by another prepared pool`);
    }
    if (problems.length > 0) {
      throw new BatonError("BATON_CONFIG_INVALID", problems.join("; "), { details: { problems } });
    }
  }

  /** Close the Targets of a Pool that nothing routes to or drains any more. */
  private closeUnused(pool: Pool): void {
    const keep = this.liveTargets();
    for (const entry of this.handedBack.values()) for (const t of entry.pool.targets) keep.add(t);
    this.closeAllBut(pool.targets, keep);
  }

  /** Start, re-weight or stop a canary. Stopping hands the canary Pool back for draining. */
  setCanary(name: string, spec: PoolSpec | null, weight: number, sticky: boolean): Pool | null {
    const app = this.app(name);
    if (!(weight >= 0 && weight <= 100)) throw new BatonError("BATON_CONFIG_INVALID", "weight must be 0..100");
    let removed: Pool | null = null;
    if (spec === null) {
      removed = app.canary;
      app.canary = null;
      app.canaryWeight = 0;
    } else {
      if (app.active?.id === spec.id) {
        throw new BatonError("BATON_ADMIN_CONFLICT", `pool "${spec.id}" is the active pool of "${name}"`);
      }
      if (app.canary?.id !== spec.id) {
        removed = app.canary;
        app.canary = this.takePrepared(app, spec) ?? this.buildPool(name, spec);
      }
      app.canaryWeight = weight;
      app.sticky = sticky;
    }
    if (removed !== null) this.handBack(app, removed);
    this.changed(app);
    return removed;
  }

  setPaused(name: string, paused: boolean): void {
    const app = this.app(name);
    app.paused = paused;
    this.changed(app);
  }

  setMaintenance(name: string, maintenance: MaintenanceSpec): void {
    const app = this.app(name);
    const problems = maintenanceProblems(maintenance);
    if (problems.length > 0)
      throw new BatonError("BATON_CONFIG_INVALID", `app "${name}": ${problems.join("; ")}`, { details: { problems } });
    app.maintenance = { ...maintenance };
    this.changed(app);
  }

  /**
   * After drain: let go of the Pool's Targets. A Target no live Pool (active, canary or prepared,
   * of any app) uses is closed and forgotten, even if another handed-back Pool still lists it:
   * that Pool is on its way out too, and a later Pool on the same host:port must get a fresh Target.
   */
  release(poolId: string): void {
    const entry = this.handedBack.get(poolId);
    if (entry === undefined) return;
    this.handedBack.delete(poolId);
    this.closeAllBut(entry.pool.targets, this.liveTargets());
  }

  private closeAllBut(targets: readonly Target[], keep: Set<Target>): void {
    for (const target of targets) {
      if (keep.has(target)) continue;
      if (this.targets.get(target.id) === target) this.targets.delete(target.id);
      target.close();
    }
  }

  /** Targets of a handed-back Pool that no live Pool still uses: the ones drain must empty. */
  exclusiveTargets(pool: Pool): Target[] {
    const live = this.liveTargets();
    return pool.targets.filter((t) => !live.has(t));
  }

  private liveTargets(): Set<Target> {
    const live = new Set<Target>();
    for (const app of this.apps.values()) {
      for (const target of app.active?.targets ?? []) live.add(target);
      for (const target of app.canary?.targets ?? []) live.add(target);
      for (const target of app.prepared?.targets ?? []) live.add(target);
    }
    return live;
  }

  snapshot(): TableSnapshot {
    return {
      version: 1,
      apps: [...this.apps.values()].map((app) => ({
        ...app.spec(),
        active: app.active?.spec() ?? null,
        canary: app.canary === null ? null : { pool: app.canary.spec(), weight: app.canaryWeight, sticky: app.sticky },
      })),
    };
  }

  restore(snapshot: TableSnapshot): void {
    for (const app of snapshot.apps) {
      this.putApp(app);
      if (app.active !== null) this.swap(app.name, app.active);
      if (app.canary !== null) this.setCanary(app.name, app.canary.pool, app.canary.weight, app.canary.sticky);
    }
  }

  /** Everything that can make a held request servable ends here. */
  private changed(app: AppRoute): void {
    this.onChange();
    app.hold.flush();
  }

  private handBack(app: AppRoute, pool: Pool): void {
    this.handedBack.set(pool.id, { app: app.name, pool });
  }

  private buildPool(appName: string, spec: PoolSpec): Pool {
    const problems: string[] = [];
    if (typeof spec.id !== "string" || spec.id === "") problems.push("pool.id is required");
    if (typeof spec.release !== "string" || spec.release === "") problems.push("pool.release is required");
    if (!Array.isArray(spec.targets)) problems.push("pool.targets must be an array");
    else {
      for (const t of spec.targets) {
        if (typeof t?.host !== "string" || !Number.isInteger(t.port) || t.port < 1 || t.port > 65535) {
          problems.push(`target ${JSON.stringify(t)} needs a host and a port 1..65535`);
        }
      }
    }
    if (
      spec.healthPath !== undefined &&
      (typeof spec.healthPath !== "string" ||
        !spec.healthPath.startsWith("/") ||
        !/^\/[\x21-\x7e]*$/.test(spec.healthPath))
    )
      problems.push("pool.healthPath must be a path starting with / and no spaces or control characters");
    if (this.handedBack.has(spec.id)) problems.push(`pool id "${spec.id}" is still draining; use a new id`);
    if (problems.length > 0) {
      throw new BatonError("BATON_CONFIG_INVALID", `pool for app "${appName}": ${problems.join("; ")}`, {
        details: { problems },
      });
    }
    const targets = spec.targets.map((t) => this.acquireTarget(t.host, t.port, appName));
    return new Pool(spec.id, spec.release, targets, spec.healthPath);
  }

  private acquireTarget(host: string, port: number, appName: string): Target {
    const id = `${host}:${port}`;
    let target = this.targets.get(id);
    if (target === undefined) {
      target = new Target(host, port, {
        maxFreeSockets: this.limits.maxFreeSocketsPerTarget,
        freeSocketTimeoutMs: this.limits.freeSocketTimeoutMs,
      });
      target.onReady(() => this.apps.get(appName)?.hold.flush());
      this.targets.set(id, target);
    }
    return target;
  }

  private resolveExact(domain: string): AppRoute | undefined {
    return this.byHost.get(domain) ?? this.wildcards.find(([suffix]) => `*${suffix}` === domain)?.[1];
  }

  private reindexHosts(): void {
    this.byHost.clear();
    this.wildcards.length = 0;
    for (const app of this.apps.values()) {
      for (const domain of app.domains) {
        if (domain.startsWith("*.")) this.wildcards.push([domain.slice(1), app]);
        else this.byHost.set(domain, app);
      }
    }
    // Longest suffix first, so "*.eu.shop.test" wins over "*.shop.test".
    this.wildcards.sort((a, b) => b[0].length - a[0].length);
  }
}

function hostOnly(hostHeader: string): string {
  let host = hostHeader;
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return host.slice(0, end + 1).toLowerCase();
  }
  const colon = host.indexOf(":");
  if (colon >= 0) host = host.slice(0, colon);
  return host.toLowerCase();
}

/**
 * Shape checks for an app spec from the admin API (JSON from another process, so typed only by
 * trust): a wrong type stored here would fail every request of the app later, or worse, throw
 * while a maintenance page is sent (a Retry-After with a newline took the router down).
 */
function specShapeProblems(spec: AppRouteSpec): string[] {
  const problems: string[] = [];
  if (spec.domains !== undefined && (!Array.isArray(spec.domains) || spec.domains.some((d) => typeof d !== "string")))
    problems.push("domains must be an array of host names");
  if (spec.isDefault !== undefined && typeof spec.isDefault !== "boolean")
    problems.push("isDefault must be true or false");
  if (spec.paused !== undefined && typeof spec.paused !== "boolean") problems.push("paused must be true or false");
  if (spec.holdTimeoutMs !== undefined && spec.holdTimeoutMs !== null && typeof spec.holdTimeoutMs !== "number")
    problems.push("holdTimeoutMs must be a number (or null for the router's default)");
  if (spec.maxRequestsPerInstance !== undefined && typeof spec.maxRequestsPerInstance !== "number")
    problems.push("maxRequestsPerInstance must be a number");
  if (spec.maintenance !== undefined) problems.push(...maintenanceProblems(spec.maintenance));
  return problems;
}

function maintenanceProblems(m: MaintenanceSpec): string[] {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return ["maintenance must be an object"];
  const problems: string[] = [];
  if (typeof m.enabled !== "boolean") problems.push("maintenance.enabled must be true or false");
  if (!Number.isInteger(m.retryAfterS) || m.retryAfterS < 0 || m.retryAfterS > 86_400)
    problems.push("maintenance.retryAfterS must be an integer from 0 to 86400");
  if (m.html !== undefined && typeof m.html !== "string") problems.push("maintenance.html must be a string");
  return problems;
}

/** Whether `pool` is the Pool `spec` describes: the same id and the same Targets in order. */
function sameTargets(pool: Pool, spec: PoolSpec): boolean {
  if (pool.id !== spec.id || !Array.isArray(spec.targets) || pool.targets.length !== spec.targets.length) return false;
  return pool.targets.every((t, i) => t.host === spec.targets[i]?.host && t.port === spec.targets[i]?.port);
}
