import { BatonError } from "../core/errors.js";
import { callJson } from "../core/json-http.js";
import type { MemoryReport } from "../core/memory.js";
import type { AppRouteSpec, MaintenanceSpec } from "./app-route.js";
import type { DrainReport } from "./drain.js";
import type { Prepared, TableDescription, TlsDescription } from "./ops.js";
import type { PoolSpec } from "./pool.js";
import type { AppStatsSnapshot } from "./stats.js";

/** The control plane's handle on a router: its admin API over the unix socket. */
export class RouterClient {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 10_000,
  ) {}

  health(): Promise<{
    ok: boolean;
    pid: number;
    /** The address its public port is bound to (absent from routers before 2026-11-29). */
    host?: string;
    port: number;
    httpsPort?: number | null;
    uptimeMs: number;
    memory?: MemoryReport;
  }> {
    return this.call("GET", "/v1/health");
  }

  /** Restart in place: a successor takes the listening socket; resolves with its pid. */
  handOff(): Promise<{ pid: number }> {
    return this.call("POST", "/v1/handoff", {}, 30_000);
  }

  /** Read the TLS directory again (certificate renewal); the old certificates stay on a bad file. */
  tlsReload(): Promise<TlsDescription> {
    return this.call("POST", "/v1/tls/reload");
  }

  table(): Promise<TableDescription> {
    return this.call("GET", "/v1/table");
  }

  /** Stats and table in one round trip (`POST /v1/read`). */
  read(): Promise<{ stats: { apps: AppStatsSnapshot[] }; table: TableDescription }> {
    // A body, though the router needs none: observe/traffic.ts says why this read is a POST.
    return this.call("POST", "/v1/read", {});
  }

  putApp(spec: AppRouteSpec): Promise<Record<string, unknown>> {
    return this.call("PUT", `/v1/apps/${encodeURIComponent(spec.name)}`, spec);
  }

  removeApp(name: string): Promise<{ handedBack: PoolSpec[] }> {
    return this.call("DELETE", `/v1/apps/${encodeURIComponent(name)}`);
  }

  /** Atomically make `pool` the app's active Pool; the previous one comes back for draining. */
  swap(app: string, pool: PoolSpec): Promise<{ active: PoolSpec; previous: PoolSpec | null }> {
    return this.call("POST", `/v1/apps/${encodeURIComponent(app)}/swap`, { pool });
  }

  /**
   * Build a Pool and open keep-alive connections to its Targets ahead of its swap (routes no
   * user's request); with `warmupHost`, requests for that Host go to it.
   */
  prepare(app: string, pool: PoolSpec, warmupHost?: string): Promise<Prepared> {
    return this.call("POST", `/v1/apps/${encodeURIComponent(app)}/prepare`, {
      pool,
      ...(warmupHost === undefined ? {} : { warmupHost }),
    });
  }

  /** Drop the app's prepared Pool: its deploy stopped before the swap. */
  unprepare(app: string): Promise<{ dropped: PoolSpec | null }> {
    return this.call("DELETE", `/v1/apps/${encodeURIComponent(app)}/prepare`);
  }

  setCanary(app: string, pool: PoolSpec | null, weight: number, sticky = true): Promise<{ removed: PoolSpec | null }> {
    return this.call("PUT", `/v1/apps/${encodeURIComponent(app)}/canary`, { pool, weight, sticky });
  }

  pause(app: string): Promise<unknown> {
    return this.call("POST", `/v1/apps/${encodeURIComponent(app)}/pause`);
  }

  resume(app: string): Promise<unknown> {
    return this.call("POST", `/v1/apps/${encodeURIComponent(app)}/resume`);
  }

  setMaintenance(app: string, maintenance: MaintenanceSpec): Promise<unknown> {
    return this.call("PUT", `/v1/apps/${encodeURIComponent(app)}/maintenance`, maintenance);
  }

  drain(poolId: string, options: { timeoutMs?: number; streamCloseWindowMs?: number } = {}): Promise<DrainReport> {
    const waitMs = (options.timeoutMs ?? 30_000) + (options.streamCloseWindowMs ?? 2_000) + 10_000;
    return this.call("POST", `/v1/pools/${encodeURIComponent(poolId)}/drain`, options, waitMs);
  }

  stats(): Promise<{ apps: AppStatsSnapshot[] }> {
    return this.call("GET", "/v1/stats");
  }

  appStats(app: string): Promise<AppStatsSnapshot> {
    return this.call("GET", `/v1/apps/${encodeURIComponent(app)}/stats`);
  }

  private call<T>(method: string, path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    return callJson<T>({
      endpoint: { socketPath: this.socketPath },
      method,
      path,
      body,
      timeoutMs,
      unreachable: (cause) =>
        new BatonError(
          "BATON_ROUTER_UNREACHABLE",
          `router admin socket ${this.socketPath} did not answer ${method} ${path}`,
          {
            cause,
            hint: "is `baton router` running with this --home?",
          },
        ),
    });
  }
}
