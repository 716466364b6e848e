import { rmSync } from "node:fs";
import { basename } from "node:path";
import { DEFAULTS, type ResolvedConfig } from "../config/resolve.js";
import { BatonError } from "../core/errors.js";
import type { AppRouteSpec, MaintenanceSpec } from "../router/app-route.js";
import type { PoolSpec } from "../router/pool.js";
import { HOST_NAME } from "../router/table.js";
import type { AppRecord, LockRecord, MaintenanceRecord } from "../store/store.js";
import { appPaths } from "./paths.js";
import type { PipelineDeps } from "./pipeline.js";

/** Retry-After when `maintenance:on` names none (the router's own default too). */
export const DEFAULT_RETRY_AFTER_S = 60;
const MAX_RETRY_AFTER_S = 7 * 86_400;
const MAX_PAGE_BYTES = 256 * 1024;
/** A destroyed app's users are gone anyway: its in-flight requests get this long at most. */
const DESTROY_DRAIN_CAP_MS = 30_000;

/**
 * The app as the router should route it, maintenance included: every putApp sends the stored
 * state, so a deploy (or a restarted control plane) never turns maintenance off by accident.
 */
export function routeSpec(app: AppRecord, config?: ResolvedConfig): AppRouteSpec {
  return {
    name: app.name,
    domains: app.domains,
    isDefault: app.isDefault,
    maintenance: maintenanceSpec(app.maintenance),
    ...(config === undefined ? {} : { ...httpsRoute(config), ...routerRoute(config) }),
  };
}

/**
 * The serving release's request limit and hold timeout (app.json `baton.router`). Without them
 * (or for a release staged before the key existed): no limit, and the router's own hold timeout,
 * sent as null, because an absent one would keep whatever another release had set.
 */
export function routerRoute(config: ResolvedConfig): Pick<AppRouteSpec, "maxRequestsPerInstance" | "holdTimeoutMs"> {
  const router = (config as Partial<ResolvedConfig>).router;
  return {
    maxRequestsPerInstance: router?.maxRequestsPerInstance ?? 0,
    holdTimeoutMs: router?.holdTimeoutMs ?? null,
  };
}

/**
 * The route's HTTPS settings as the serving release's app.json has them (`baton.https`). A release
 * staged before the key existed has none in its stored config: no redirect, no HSTS.
 */
export function httpsRoute(config: ResolvedConfig): Pick<AppRouteSpec, "redirectHttps" | "hstsMaxAgeS"> {
  const https = (config as Partial<ResolvedConfig>).https;
  return { redirectHttps: https?.redirect ?? false, hstsMaxAgeS: https?.hstsMaxAgeS ?? 0 };
}

export function maintenanceSpec(maintenance: MaintenanceRecord | null): MaintenanceSpec {
  if (maintenance === null) return { enabled: false, retryAfterS: DEFAULT_RETRY_AFTER_S };
  return {
    enabled: true,
    retryAfterS: maintenance.retryAfterS,
    ...(maintenance.html === undefined ? {} : { html: maintenance.html }),
  };
}

/** Maintenance as the API shows it: the page's name, never its (possibly large) HTML. */
export function maintenanceView(maintenance: MaintenanceRecord | null): Record<string, unknown> | null {
  if (maintenance === null) return null;
  return {
    retryAfterS: maintenance.retryAfterS,
    page: maintenance.html === undefined ? null : (maintenance.page ?? "custom"),
    since: maintenance.since,
    by: maintenance.by,
  };
}

/** What app administration needs: the pipeline's own dependencies, less the build environment. */
export interface AppAdminDeps
  extends Pick<PipelineDeps, "store" | "traffic" | "instances" | "events" | "home" | "log"> {
  /** The id of the deploy the app's queue runs now, if any. */
  runningDeploy: (app: string) => number | undefined;
}

export interface DestroyReport {
  app: string;
  instancesStopped: string[];
  poolsDrained: string[];
  releasesDeleted: number;
  deploysDeleted: number;
}

/**
 * What is done to an app outside a deploy: maintenance mode, domains, the deploy lock and
 * destroying it. The store holds each setting (it survives restarts); the router gets it at once.
 */
export class AppAdmin {
  /** Apps being destroyed right now: nothing may be queued for them meanwhile. */
  private readonly destroying = new Set<string>();

  constructor(private readonly deps: AppAdminDeps) {}

  /** Refuse `what` (a deploy, a rollback, a config change) on a locked app, naming the lock. */
  assertUnlocked(name: string, what: string): void {
    if (this.destroying.has(name)) {
      throw new BatonError("BATON_APP_LOCKED", `app "${name}" is being destroyed; the ${what} was refused`, {
        details: { app: name },
      });
    }
    const lock = this.deps.store.getApp(name)?.lock;
    if (lock === null || lock === undefined) return;
    throw new BatonError(
      "BATON_APP_LOCKED",
      `app "${name}" is locked by ${lock.by} since ${new Date(lock.at).toISOString()}: ${lock.reason}; the ${what} was refused`,
      { hint: `unlock it once the reason is gone: baton apps:unlock --app ${name}`, details: { app: name, lock } },
    );
  }

  lock(name: string, reason: string, by: string): AppRecord {
    const app = this.get(name);
    if (reason.trim() === "") throw new BatonError("BATON_USAGE", "a lock needs a reason (--reason)");
    const lock: LockRecord = { reason: reason.trim(), by, at: Date.now() };
    const locked = this.deps.store.updateApp(app.name, { lock });
    this.deps.events.emit(app.name, null, "app.locked", `${by} locked ${app.name}: ${lock.reason}`, { ...lock });
    return locked;
  }

  unlock(name: string, by: string): AppRecord {
    const app = this.get(name);
    if (app.lock === null) return app;
    const unlocked = this.deps.store.updateApp(app.name, { lock: null });
    this.deps.events.emit(app.name, null, "app.unlocked", `${by} unlocked ${app.name}`, { by, was: app.lock });
    return unlocked;
  }

  /** Maintenance on (with its Retry-After and page) or off (null), stored and applied to the router. */
  async setMaintenance(
    name: string,
    on: { retryAfterS?: unknown; html?: unknown; page?: unknown } | null,
    by: string,
  ): Promise<AppRecord> {
    const app = this.get(name);
    let next: MaintenanceRecord | null = null;
    if (on !== null) {
      const problems: string[] = [];
      const retryAfterS = on.retryAfterS ?? DEFAULT_RETRY_AFTER_S;
      if (
        !(Number.isInteger(retryAfterS) && (retryAfterS as number) >= 0 && (retryAfterS as number) <= MAX_RETRY_AFTER_S)
      )
        problems.push(`retryAfterS must be a whole number of seconds from 0 to ${MAX_RETRY_AFTER_S}`);
      if (on.html !== undefined && (typeof on.html !== "string" || on.html === ""))
        problems.push("html must be the page's HTML");
      else if (typeof on.html === "string" && Buffer.byteLength(on.html) > MAX_PAGE_BYTES)
        problems.push(`the page is larger than ${MAX_PAGE_BYTES / 1024} KiB`);
      if (problems.length > 0) throw new BatonError("BATON_USAGE", problems.join("; "));
      next = {
        retryAfterS: retryAfterS as number,
        ...(typeof on.html === "string" ? { html: on.html } : {}),
        ...(typeof on.html === "string" && typeof on.page === "string" ? { page: basename(on.page) } : {}),
        since: app.maintenance?.since ?? Date.now(),
        by,
      };
    } else if (app.maintenance === null) {
      return app;
    }
    const updated = await this.change(app, { maintenance: next }, () =>
      this.deps.traffic.setMaintenance(app.name, maintenanceSpec(next)),
    );
    this.deps.events.emit(
      app.name,
      null,
      next === null ? "app.maintenance_off" : "app.maintenance_on",
      next === null
        ? `${by} turned maintenance off`
        : `${by} turned maintenance on (Retry-After ${next.retryAfterS} s)`,
      { by },
    );
    return updated;
  }

  async addDomain(name: string, host: string, by: string): Promise<AppRecord> {
    const app = this.get(name);
    const domain = normalizeDomain(host);
    if (app.domains.includes(domain)) return app;
    const owner = this.deps.store.listApps().find((a) => a.name !== app.name && a.domains.includes(domain));
    if (owner !== undefined) {
      throw new BatonError("BATON_CONFIG_INVALID", `domain "${domain}" already belongs to app "${owner.name}"`, {
        hint: `remove it there first: baton domains:remove --app ${owner.name} ${domain}`,
        details: { domain, owner: owner.name },
      });
    }
    const domains = [...app.domains, domain];
    const updated = await this.change(app, { domains }, () => this.putRouted({ ...app, domains }));
    this.deps.events.emit(app.name, null, "app.domain_added", `${by} added the domain ${domain}`, { by, domain });
    return updated;
  }

  async removeDomain(name: string, host: string, by: string): Promise<AppRecord> {
    const app = this.get(name);
    const domain = normalizeDomain(host);
    if (!app.domains.includes(domain)) {
      throw new BatonError("BATON_NOT_FOUND", `app "${app.name}" has no domain "${domain}"`, {
        hint: `\`baton domains --app ${app.name}\` lists its domains`,
      });
    }
    const domains = app.domains.filter((d) => d !== domain);
    const updated = await this.change(app, { domains }, () => this.putRouted({ ...app, domains }));
    this.deps.events.emit(app.name, null, "app.domain_removed", `${by} removed the domain ${domain}`, {
      by,
      domain,
    });
    return updated;
  }

  /**
   * Destroy an app between deploys: out of the router (its Pools drained), every instance
   * stopped, its store rows and its directory (releases, logs, git repository) deleted.
   * Refused while a deploy is queued or runs; nothing can be queued while it runs.
   */
  async destroy(name: string, confirm: unknown, by: string): Promise<DestroyReport> {
    const { store, traffic, instances, events, log } = this.deps;
    const app = this.get(name);
    if (confirm !== app.name) {
      throw new BatonError("BATON_USAGE", `destroying ${app.name} deletes its releases, deploys and files`, {
        hint: `confirm with: baton apps:destroy ${app.name} --confirm ${app.name}`,
      });
    }
    if (this.destroying.has(app.name))
      throw new BatonError("BATON_DEPLOY_IN_PROGRESS", `app "${app.name}" is already being destroyed`);
    const pending = store.listDeploys({ app: app.name, statuses: ["queued", "running"] });
    const running = this.deps.runningDeploy(app.name) ?? pending[0]?.id;
    if (running !== undefined) {
      throw new BatonError("BATON_DEPLOY_IN_PROGRESS", `deploy ${running} of ${app.name} is not finished`, {
        hint: `wait for it (baton status --app ${app.name}) or abort it (baton deploy:abort --app ${app.name}), then destroy again`,
        details: { app: app.name, deployId: running },
      });
    }
    // From here (same tick as the check) every enqueue for this app is refused.
    this.destroying.add(app.name);
    try {
      let handedBack: PoolSpec[] = [];
      try {
        handedBack = await traffic.removeApp(app.name);
      } catch (error) {
        // Never routed (no deploy went live), or a destroy that failed half-way is run again.
        if (!(error instanceof BatonError && error.code === "BATON_ADMIN_NOT_FOUND")) throw error;
      }
      const drainMs = Math.min(this.drainMsOf(app), DESTROY_DRAIN_CAP_MS);
      await Promise.all(
        handedBack.map((pool) => traffic.drain(pool.id, { timeoutMs: drainMs }).catch(() => undefined)),
      );
      const live = instances.list({ app: app.name });
      await Promise.all(live.map((i) => instances.stop(i.id)));
      const releasesDeleted = store.listReleases(app.name).length;
      const deploysDeleted = store.listDeploys({ app: app.name }).length;
      store.deleteApp(app.name);
      rmSync(appPaths(this.deps.home, app.name).root, { recursive: true, force: true });
      const report: DestroyReport = {
        app: app.name,
        instancesStopped: live.map((i) => i.id),
        poolsDrained: handedBack.map((p) => p.id),
        releasesDeleted,
        deploysDeleted,
      };
      // The one row kept: who destroyed the app and when (events outlive what they mention).
      events.emit(app.name, null, "app.destroyed", `${by} destroyed ${app.name}`, { by, ...report });
      log.info("app destroyed", { ...report, by });
      return report;
    } finally {
      this.destroying.delete(app.name);
    }
  }

  private get(name: string): AppRecord {
    const app = this.deps.store.getApp(name);
    if (app === undefined)
      throw new BatonError("BATON_NOT_FOUND", `app "${name}" does not exist`, { hint: "`baton apps` lists the apps" });
    return app;
  }

  /**
   * Store the change, then apply it to the router; a refusal there (a domain another app owns,
   * the router unreachable) puts the stored fields back and is passed on. Store first, so a deploy
   * that puts the app in the router meanwhile already sends the new state.
   */
  private async change(
    app: AppRecord,
    patch: Partial<Pick<AppRecord, "domains" | "maintenance">>,
    apply: () => Promise<unknown>,
  ): Promise<AppRecord> {
    const { store } = this.deps;
    const updated = store.updateApp(app.name, patch);
    try {
      await apply();
    } catch (error) {
      if (error instanceof BatonError && error.code === "BATON_ADMIN_NOT_FOUND") return updated;
      const before: Partial<Pick<AppRecord, "domains" | "maintenance">> = {};
      if ("domains" in patch) before.domains = app.domains;
      if ("maintenance" in patch) before.maintenance = app.maintenance;
      store.updateApp(app.name, before);
      throw error;
    }
    return updated;
  }

  /** Put the app's new route in the router, if the router routes it already (else its first deploy will). */
  private async putRouted(app: AppRecord): Promise<void> {
    const table = await this.deps.traffic.table();
    if (!table.apps.some((a) => a.name === app.name)) return;
    await this.deps.traffic.putApp(routeSpec(app, this.servingConfig(app)));
  }

  private servingConfig(app: AppRecord): ResolvedConfig | undefined {
    const release = app.currentVersion === null ? undefined : this.deps.store.getRelease(app.name, app.currentVersion);
    return release?.appConfig as ResolvedConfig | undefined;
  }

  private drainMsOf(app: AppRecord): number {
    const release = app.currentVersion === null ? undefined : this.deps.store.getRelease(app.name, app.currentVersion);
    return (release?.appConfig as ResolvedConfig | undefined)?.timeouts.drainMs ?? DEFAULTS.drainMs;
  }
}

function normalizeDomain(host: string): string {
  const domain = host.trim().toLowerCase().replace(/\.$/, "");
  if (!HOST_NAME.test(domain)) {
    throw new BatonError("BATON_USAGE", `"${host}" is not a host name`, {
      hint: "a domain is like shop.example.com, or *.shop.example.com for every subdomain",
    });
  }
  return domain;
}
