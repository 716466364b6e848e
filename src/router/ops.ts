import { BatonError } from "../core/errors.js";
import type { AppRouteSpec, MaintenanceSpec } from "./app-route.js";
import { type DrainOptions, type DrainReport, drainPool } from "./drain.js";
import type { PoolSpec } from "./pool.js";
import type { AppStatsSnapshot } from "./stats.js";
import type { RoutingTable } from "./table.js";

export interface TargetDescription {
  host: string;
  port: number;
  state: string;
  inFlight: number;
  streams: number;
}

export interface PoolDescription extends Omit<PoolSpec, "targets"> {
  targets: TargetDescription[];
}

export interface AppDescription extends AppRouteSpec {
  active: PoolDescription | null;
  canary: { pool: PoolDescription; weight: number; sticky: boolean } | null;
  /** The Pool a deploy prepared for its switch (routing no user yet), or null. */
  prepared: PoolDescription | null;
  heldNow: number;
}

/** The certificates a TLS reload put in service. */
export interface TlsDescription {
  certificates: Array<{ name: string; hosts: string[]; validTo: string; expired: boolean }>;
  default: boolean;
}

/** What prepare did: connections opened, and the Host that routes to the Pool (null: none). */
export interface Prepared {
  connections: number;
  warmupHost: string | null;
}

export interface TableDescription {
  apps: AppDescription[];
  draining: Array<{ id: string; app: string; pool: PoolDescription }>;
}

/**
 * Everything the admin API can ask of a router. One implementation acts on a table in this
 * process; the cluster one (cluster.ts) fans the same operations out to every worker process.
 */
export interface RouterOps {
  putApp(spec: AppRouteSpec): Promise<void>;
  removeApp(name: string): Promise<PoolSpec[]>;
  swap(name: string, pool: PoolSpec): Promise<{ active: PoolSpec; previous: PoolSpec | null }>;
  /**
   * Build a Pool and open connections to its Targets ahead of its swap (or canary); routes no
   * user's request. With `warmupHost`, requests for that Host go to it (a deploy's warm-up).
   */
  prepare(name: string, pool: PoolSpec, warmupHost?: string): Promise<Prepared>;
  /** Drop the app's prepared Pool (its deploy stopped before the swap); its spec, or null. */
  unprepare(name: string): Promise<PoolSpec | null>;
  setCanary(name: string, pool: PoolSpec | null, weight: number, sticky: boolean): Promise<PoolSpec | null>;
  setPaused(name: string, paused: boolean): Promise<void>;
  setMaintenance(name: string, maintenance: MaintenanceSpec): Promise<void>;
  drain(poolId: string, options: DrainOptions): Promise<DrainReport>;
  stats(): Promise<AppStatsSnapshot[]>;
  describe(): Promise<TableDescription>;
  /** Read the TLS directory again; the certificates in use stay on any problem. */
  reloadTls(): Promise<TlsDescription>;
}

export class LocalOps implements RouterOps {
  constructor(
    readonly table: RoutingTable,
    /** The router's own reload; absent where no process serves HTTPS (a cluster's primary). */
    private readonly tlsReload?: () => Promise<TlsDescription>,
  ) {}

  async reloadTls(): Promise<TlsDescription> {
    if (this.tlsReload === undefined) throw new BatonError("BATON_USAGE", "this router has no HTTPS port");
    return this.tlsReload();
  }

  async putApp(spec: AppRouteSpec): Promise<void> {
    this.table.putApp(spec);
  }

  async removeApp(name: string): Promise<PoolSpec[]> {
    return this.table.removeApp(name).map((p) => p.spec());
  }

  async swap(name: string, pool: PoolSpec): Promise<{ active: PoolSpec; previous: PoolSpec | null }> {
    const { active, previous } = this.table.swap(name, pool);
    return { active: active.spec(), previous: previous?.spec() ?? null };
  }

  async prepare(name: string, pool: PoolSpec, warmupHost?: string): Promise<Prepared> {
    return this.table.prepare(name, pool, warmupHost);
  }

  async unprepare(name: string): Promise<PoolSpec | null> {
    return this.table.unprepare(name);
  }

  async setCanary(name: string, pool: PoolSpec | null, weight: number, sticky: boolean): Promise<PoolSpec | null> {
    return this.table.setCanary(name, pool, weight, sticky)?.spec() ?? null;
  }

  async setPaused(name: string, paused: boolean): Promise<void> {
    this.table.setPaused(name, paused);
  }

  async setMaintenance(name: string, maintenance: MaintenanceSpec): Promise<void> {
    this.table.setMaintenance(name, maintenance);
  }

  async drain(poolId: string, options: DrainOptions): Promise<DrainReport> {
    const entry = this.table.handedBack.get(poolId);
    if (entry === undefined) {
      throw new BatonError("BATON_ADMIN_NOT_FOUND", `pool "${poolId}" is not waiting to be drained`, {
        hint: "only a pool handed back by a swap, a canary change or an app removal can be drained",
      });
    }
    return drainPool(this.table, entry.pool, options);
  }

  async stats(): Promise<AppStatsSnapshot[]> {
    return [...this.table.apps.values()].map((a) => a.stats.snapshot());
  }

  async describe(): Promise<TableDescription> {
    return {
      apps: [...this.table.apps.values()].map((app) => ({
        ...app.spec(),
        active: app.active?.describe() ?? null,
        canary:
          app.canary === null ? null : { pool: app.canary.describe(), weight: app.canaryWeight, sticky: app.sticky },
        prepared: app.prepared?.describe() ?? null,
        heldNow: app.hold.size,
      })),
      draining: [...this.table.handedBack.entries()].map(([id, { app, pool }]) => ({ id, app, pool: pool.describe() })),
    };
  }
}
