import { request } from "node:http";
import { BatonError, errorFromJSON } from "../core/errors.js";
import type { AppRouteSpec, MaintenanceSpec } from "./app-route.js";
import type { DrainReport } from "./drain.js";
import type { PoolSpec } from "./pool.js";
import type { AppStatsSnapshot } from "./stats.js";

/** The control plane's handle on a router: its admin API over the unix socket. */
export class RouterClient {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 10_000,
  ) {}

  health(): Promise<{ ok: boolean; pid: number; port: number; uptimeMs: number }> {
    return this.call("GET", "/v1/health");
  }

  table(): Promise<{ apps: Array<Record<string, unknown>>; draining: unknown[] }> {
    return this.call("GET", "/v1/table");
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
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers:
            payload === undefined
              ? {}
              : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            } catch (error) {
              reject(
                new BatonError("BATON_ROUTER_UNREACHABLE", `router answered ${method} ${path} with invalid JSON`, {
                  cause: error,
                }),
              );
              return;
            }
            if ((res.statusCode ?? 500) >= 400) {
              reject(errorFromJSON((parsed as { error?: unknown }).error, `router refused ${method} ${path}`));
            } else resolve(parsed as T);
          });
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on("error", (error) =>
        reject(
          new BatonError(
            "BATON_ROUTER_UNREACHABLE",
            `router admin socket ${this.socketPath} did not answer ${method} ${path}`,
            {
              cause: error,
              hint: "is `baton router` running with this --home?",
            },
          ),
        ),
      );
      req.end(payload);
    });
  }
}
