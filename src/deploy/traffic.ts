import { randomBytes } from "node:crypto";
import type { AppRouteSpec, MaintenanceSpec } from "../router/app-route.js";
import type { RouterClient } from "../router/client.js";
import type { DrainReport } from "../router/drain.js";
import type { TableDescription } from "../router/ops.js";
import type { PoolSpec } from "../router/pool.js";
import type { AppStatsSnapshot } from "../router/stats.js";
import { WARMUP_DOMAIN } from "../router/table.js";

/**
 * What the pipeline needs from whatever moves traffic: baton's router today, a fleet load
 * balancer (HAProxy) later. Kept this small on purpose so a second driver stays easy.
 */
export interface TrafficDriver {
  putApp(spec: AppRouteSpec): Promise<unknown>;
  /** Take the app out of routing; its Pools (active, canary) come back for draining. */
  removeApp(app: string): Promise<PoolSpec[]>;
  /** Maintenance on: requests get 503 with Retry-After and the page; off: routed again. */
  setMaintenance(app: string, maintenance: MaintenanceSpec): Promise<unknown>;
  swap(app: string, pool: PoolSpec): Promise<{ active: PoolSpec; previous: PoolSpec | null }>;
  /**
   * Open connections to a Pool's Targets before it takes traffic (a no-op where that means
   * nothing). With `warmup`, also where to send warm-up requests so they reach this Pool along
   * the path users' requests will take after the switch, when the driver can route them.
   */
  prepare(app: string, pool: PoolSpec, options?: { warmup?: boolean }): Promise<{ warmup?: WarmupRoute }>;
  /** Forget the prepared Pool of a deploy that stopped before its switch. */
  unprepare(app: string): Promise<unknown>;
  /** Give `pool` `weight`% of new clients beside the active Pool (null: no canary); returns the Pool it replaced. */
  setCanary(app: string, pool: PoolSpec | null, weight: number, sticky?: boolean): Promise<PoolSpec | null>;
  drain(poolId: string, options: { timeoutMs?: number; streamCloseWindowMs?: number }): Promise<DrainReport>;
  appStats(app: string): Promise<AppStatsSnapshot>;
  table(): Promise<TableDescription>;
}

/** Where warm-up requests go to reach a prepared Pool: an address, and the Host to send. */
export interface WarmupRoute {
  host: string;
  port: number;
  hostHeader: string;
}

/**
 * The router's client is the driver as it is. `publicAddress` is where the router takes users'
 * requests (a wildcard host is reached on loopback); without it, no warm-up goes through the router.
 */
export const routerDriver = (client: RouterClient, publicAddress?: { host: string; port: number }): TrafficDriver => ({
  putApp: (spec) => client.putApp(spec),
  removeApp: async (app) => (await client.removeApp(app)).handedBack,
  setMaintenance: (app, maintenance) => client.setMaintenance(app, maintenance),
  swap: (app, pool) => client.swap(app, pool),
  prepare: async (app, pool, options) => {
    const wanted = options?.warmup === true && publicAddress !== undefined;
    // A name under .invalid (RFC 2606) no DNS resolves and no app can own, random so that no
    // client can guess it while it routes.
    const { warmupHost } = await client.prepare(app, pool, wanted ? warmupHostName() : undefined);
    if (!wanted || warmupHost === null || warmupHost === undefined) return {};
    return { warmup: { host: loopbackFor(publicAddress.host), port: publicAddress.port, hostHeader: warmupHost } };
  },
  unprepare: (app) => client.unprepare(app),
  setCanary: async (app, pool, weight, sticky) => (await client.setCanary(app, pool, weight, sticky)).removed,
  drain: (id, options) => client.drain(id, options),
  appStats: (app) => client.appStats(app),
  table: () => client.table(),
});

/** Requests the router failed for an app so far: 5xx answers plus hold timeouts. */
export function failedSoFar(stats: AppStatsSnapshot | undefined): number {
  if (stats === undefined) return 0;
  let failed = stats.holdTimeouts;
  for (const release of stats.releases) failed += release.statusClasses["5xx"];
  return failed;
}

/** How long the router takes to close WebSockets and event streams on a drained Pool. */
export const STREAM_CLOSE_WINDOW_MS = 1_000;

/** Drain a Pool the router handed back: in-flight requests get `drainMs`, streams close politely. */
export function drainHandedBack(traffic: TrafficDriver, poolId: string, drainMs: number): Promise<DrainReport> {
  return traffic.drain(poolId, { timeoutMs: drainMs, streamCloseWindowMs: STREAM_CLOSE_WINDOW_MS });
}

const warmupHostName = (): string => `warmup-${randomBytes(12).toString("hex")}${WARMUP_DOMAIN}`;

/** Reach a listener on a wildcard address through loopback; a named address as it is. */
function loopbackFor(host: string): string {
  if (host === "" || host === "0.0.0.0") return "127.0.0.1";
  if (host === "::" || host === "[::]") return "::1";
  return host.startsWith("[") ? host.slice(1, -1) : host;
}
