import { BatonError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { settledWithin } from "../core/wait.js";
import type { AppRecord, DeployKind, DeployRecord, InstanceRecord, Store } from "../store/store.js";
import { openIdleCpuClass } from "../supervisor/cpu-class.js";
import type { AppUser } from "../supervisor/run-as.js";
import { AppAdmin, maintenanceView } from "./app-admin.js";
import { EventLog } from "./events.js";
import { InstanceRegistry } from "./instances.js";
import { releaseName } from "./paths.js";
import { Pipeline, type PipelineDeps } from "./pipeline.js";
import { DeployQueue } from "./queue.js";
import { type RecoveryReport, recover } from "./recovery.js";
import type { TrafficDriver } from "./traffic.js";
import { UnresponsiveWatch } from "./unresponsive-watch.js";
import { WebhookDispatcher } from "./webhooks.js";

/** How long `baton shutdown` lets a running deploy finish before stopping everything anyway. */
const SHUTDOWN_DEPLOY_WAIT_MS = 60_000;

/** App names as the router accepts them, kept short enough for host names. */
const APP_NAME = /^[a-z][a-z0-9-]{0,62}$/;

export interface ControlPlaneOptions {
  store: Store;
  traffic: TrafficDriver;
  home: string;
  log: Logger;
  /** `baton server --user`: every process of every app runs as this user. */
  appUser?: AppUser | undefined;
}

/**
 * The control plane's one entry point for work: deploys, rollbacks and config changes go through
 * the per-app queue and the pipeline; everything else reads the store and the live instances.
 */
export class ControlPlane {
  readonly events: EventLog;
  readonly instances: InstanceRegistry;
  /** Maintenance, domains, the deploy lock and destroy. */
  readonly apps: AppAdmin;
  private readonly queue: DeployQueue;
  private readonly deps: PipelineDeps;
  /** Sends deploy events to each app's webhooks (started with the control plane). */
  readonly webhooks: WebhookDispatcher;
  /** Replaces instances the router has kept out of rotation too long (hung). */
  private readonly unresponsive: UnresponsiveWatch;
  /** The deploy each app is running now, for promote/abort while it moves traffic. */
  private readonly running = new Map<string, { id: number; pipeline: Pipeline }>();

  constructor(private readonly opts: ControlPlaneOptions) {
    const { store, home, log } = opts;
    this.events = new EventLog(store, log);
    const baseEnv = inheritedEnv();
    this.instances = new InstanceRegistry(
      store,
      this.events,
      home,
      (r) => this.releaseEnv(r.app, r.version, `${r.type}.${r.index}`),
      log,
      opts.appUser,
    );
    const idle = openIdleCpuClass();
    if (idle.ok) log.info("new instances warm up in an idle CPU class", { cgroup: idle.idle.path });
    else log.info("no idle CPU class for warm-ups; new instances warm up at normal priority", { reason: idle.reason });
    this.deps = {
      idleCpu: idle.ok ? idle.idle : undefined,
      store,
      traffic: opts.traffic,
      instances: this.instances,
      events: this.events,
      home,
      log,
      baseEnv,
      appUser: opts.appUser,
      enqueueRollback: (app, version) => this.enqueue(app, "rollback", { version, automatic: true }).id,
    };
    this.apps = new AppAdmin({ ...this.deps, runningDeploy: (app) => this.runningDeploy(app) });
    this.webhooks = new WebhookDispatcher(this.events, (app) => store.listWebhooks(app), log);
    this.unresponsive = new UnresponsiveWatch(opts.traffic, this.instances, log);
    this.queue = new DeployQueue(store, this.events, async (deploy) => {
      const pipeline = new Pipeline(this.deps, deploy);
      this.running.set(deploy.app, { id: deploy.id, pipeline });
      try {
        return await pipeline.run();
      } finally {
        if (this.running.get(deploy.app)?.pipeline === pipeline) this.running.delete(deploy.app);
      }
    });
  }

  get store(): Store {
    return this.opts.store;
  }

  get home(): string {
    return this.opts.home;
  }

  /** Who the apps' processes run as; undefined: as baton's own user. */
  get appUser(): AppUser | undefined {
    return this.opts.appUser;
  }

  /** Re-adopt instances, resolve interrupted deploys, then run what was queued. */
  async start(): Promise<RecoveryReport> {
    this.webhooks.start();
    const report = await recover(this.deps);
    for (const app of this.store.listApps()) this.queue.kick(app.name);
    this.unresponsive.start();
    return report;
  }

  /** Queue a deploy, a rollback or a config change; the app is created on its first deploy. */
  enqueue(app: string, kind: DeployKind, request: Record<string, unknown>): DeployRecord {
    const { store } = this;
    // An automatic rollback (a failed bake) undoes a deploy that began before any lock: let it through.
    if (request.automatic !== true) this.apps.assertUnlocked(app, kind === "config" ? "config change" : kind);
    if (store.getApp(app) === undefined && kind !== "deploy") {
      throw new BatonError("BATON_NOT_FOUND", `app "${app}" does not exist`, {
        hint: "deploy it first: baton deploy DIR --app NAME",
      });
    }
    this.ensureApp(app);
    const deploy = store.createDeploy({ app, kind, request });
    this.events.emit(app, deploy.id, "deploy.queued", `${kind} ${deploy.id} queued`, { kind });
    this.queue.kick(app);
    return deploy;
  }

  /** Config vars for an app that serves nothing yet: stored (the app created if needed), no deploy. */
  setConfigBeforeFirstDeploy(app: string, set: Record<string, string>, unset: string[]): Record<string, string> {
    this.apps.assertUnlocked(app, "config change");
    this.ensureApp(app);
    const current = this.store.getApp(app)?.configVars ?? {};
    const next = { ...current, ...set };
    for (const key of unset) delete next[key];
    this.store.updateApp(app, { configVars: next });
    this.events.emit(
      app,
      null,
      "config.changed",
      `config vars set before the first deploy: ${Object.keys(set).join(" ")}`,
      {
        keys: Object.keys(set),
        unset,
      },
    );
    return next;
  }

  /**
   * Act on the app's running deploy while its canary or bake runs: `promote` skips to 100% (and
   * ends the bake), `abort` moves every user back to the old Release at once. Returns the deploy
   * that took the request.
   */
  control(app: string, kind: "promote" | "abort", by: string, reason = "aborted by hand"): DeployRecord {
    const running = this.running.get(app);
    const accepted =
      running?.pipeline.controls.request(
        kind === "promote" ? { kind, by } : { kind, by, reason, requestedAt: Date.now() },
      ) === true;
    if (running === undefined || !accepted) {
      const phase = running === undefined ? undefined : this.store.getDeploy(running.id)?.phase;
      throw new BatonError(
        "BATON_NO_ACTIVE_ROLLOUT",
        running === undefined
          ? `no deploy of ${app} is running`
          : `deploy ${running.id} of ${app} is in its ${phase} step, where it cannot ${kind}`,
        {
          hint:
            kind === "abort"
              ? "a deploy can be aborted during its canary or bake (while the old release is on standby)"
              : "only a deploy in its canary or bake step can be promoted",
        },
      );
    }
    this.events.emit(app, running.id, `deploy.${kind}_requested`, `${by} asked to ${kind} deploy ${running.id}`, {
      by,
    });
    return this.store.getDeploy(running.id) as DeployRecord;
  }

  runningDeploy(app: string): number | undefined {
    return this.running.get(app)?.id;
  }

  /** Every deploy running now, by app. */
  runningDeploys(): Array<{ app: string; id: number }> {
    return [...this.running].map(([app, { id }]) => ({ app, id }));
  }

  /**
   * `baton deploy:cancel`: a queued deploy never runs; a running one stops before its next step
   * if it has not switched (nothing changed for users); during its canary or bake it is aborted
   * (everyone back on the old release at once); once live with nothing on standby, a rollback
   * deploy is queued. Returns the deploy to follow to its end.
   */
  cancel(app: string, id: number | undefined, by: string): DeployRecord {
    const target =
      id === undefined
        ? (this.store.getDeploy(this.running.get(app)?.id ?? -1) ??
          this.store.listDeploys({ app, statuses: ["queued"], limit: 1 })[0])
        : this.store.getDeploy(id);
    if (target === undefined || target.app !== app || (target.status !== "queued" && target.status !== "running")) {
      throw new BatonError(
        "BATON_NOT_FOUND",
        id === undefined
          ? `no deploy of ${app} is queued or running`
          : `deploy ${id} of ${app} is not queued or running`,
        { hint: `\`baton deploys --app ${app}\` lists them` },
      );
    }
    if (target.status === "queued" && this.queue.cancelQueued(target.id, by))
      return this.store.getDeploy(target.id) as DeployRecord;
    const running = this.running.get(app);
    if (running === undefined || running.id !== target.id) return this.store.getDeploy(target.id) as DeployRecord;
    const { controls } = running.pipeline;
    if (controls.accepting.has("abort")) return this.control(app, "abort", by, "cancelled by deploy:cancel");
    if (typeof target.details.switchedAt !== "number") {
      controls.cancel = { by };
      this.events.emit(app, target.id, "deploy.cancel_requested", `${by} asked to cancel deploy ${target.id}`, { by });
      return target;
    }
    // Live already, nothing on standby: undo it the normal way.
    const rollback = this.enqueue(app, "rollback", {
      ...(target.fromVersion === null ? {} : { version: target.fromVersion }),
      by,
      reason: `deploy:cancel of deploy ${target.id} after its switch`,
    });
    return rollback;
  }

  /** True when `baton rollback` would act on a running deploy (old release on standby) rather than queue. */
  canAbortRunning(app: string): boolean {
    return this.running.get(app)?.pipeline.controls.accepting.has("abort") ?? false;
  }

  whenFinished(id: number): Promise<DeployRecord> {
    return this.queue.whenFinished(id);
  }

  /** `baton apps:create`: the app as its first deploy would create it; an existing name is refused. */
  createApp(app: string): AppRecord {
    if (this.store.getApp(app) !== undefined) {
      throw new BatonError("BATON_USAGE", `app "${app}" already exists`, {
        hint: `\`baton apps:create ${app} --repo-only\` gives it a git repository; or choose another name`,
      });
    }
    this.ensureApp(app);
    return this.store.getApp(app) as AppRecord;
  }

  /** The app, created with the domain NAME.localhost when new (the first app is the default one). */
  private ensureApp(app: string): void {
    if (!APP_NAME.test(app)) {
      throw new BatonError(
        "BATON_USAGE",
        `app name "${app}" must be lowercase letters, digits and dashes, starting with a letter`,
      );
    }
    if (this.store.getApp(app) !== undefined) return;
    this.store.createApp({
      name: app,
      domains: [`${app}.localhost`],
      isDefault: this.store.listApps().length === 0,
      currentVersion: null,
      configVars: {},
    });
    this.events.emit(app, null, "app.created", `app ${app} created`, {});
  }

  /** What `baton status` shows. */
  status(app: string): Record<string, unknown> {
    const record = this.store.getApp(app);
    if (record === undefined) throw new BatonError("BATON_NOT_FOUND", `app "${app}" does not exist`);
    const deploys = this.store.listDeploys({ app, limit: 20 });
    const inProgress = deploys.find((d) => d.status === "running" || d.status === "queued") ?? null;
    const last = deploys.find((d) => d.status !== "running" && d.status !== "queued") ?? null;
    return {
      app: record.name,
      domains: record.domains,
      isDefault: record.isDefault,
      currentVersion: record.currentVersion,
      maintenance: maintenanceView(record.maintenance),
      lock: record.lock,
      instances: this.ps(app),
      deploy:
        inProgress === null
          ? null
          : {
              id: inProgress.id,
              kind: inProgress.kind,
              status: inProgress.status,
              phase: inProgress.phase,
              version: inProgress.version,
            },
      lastDeploy:
        last === null
          ? null
          : { id: last.id, kind: last.kind, status: last.status, version: last.version, error: last.error },
    };
  }

  ps(app: string): InstanceRecord[] {
    return this.instances.list({ app });
  }

  /** What a process of the Release runs with, an instance's or a one-off's (`baton run`): DYNO tells which. */
  releaseEnv(app: string, version: number, dyno: string): Record<string, string> {
    return {
      ...this.deps.baseEnv,
      ...(this.store.getRelease(app, version)?.configVars ?? {}),
      BATON_APP: app,
      BATON_RELEASE: releaseName(version),
      DYNO: dyno,
    };
  }

  /** Stop every instance and forget them (`baton shutdown`). */
  async stopAll(): Promise<number> {
    // A running deploy gets a while to finish; a build can take minutes, and shutdown must end.
    if (!(await settledWithin(this.queue.idle(), SHUTDOWN_DEPLOY_WAIT_MS))) {
      this.opts.log.warn("a deploy was still running at shutdown; its instances are stopped with the rest", {
        waitedMs: SHUTDOWN_DEPLOY_WAIT_MS,
      });
    }
    // After the wait: the running deploy's last events still reach its webhooks.
    this.webhooks.stop();
    this.unresponsive.stop();
    const all = this.instances.list();
    await Promise.all(all.map((i) => this.instances.stop(i.id)));
    return all.length;
  }

  /** The control plane exits; instances keep running for the next one to adopt. */
  detach(): void {
    this.webhooks.stop();
    this.unresponsive.stop();
    this.instances.release();
  }
}

/** The server's own environment minus baton's settings: what builds and instances start from. */
function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("BATON_")) env[key] = value;
  }
  return env;
}
