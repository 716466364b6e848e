import { mkdirSync } from "node:fs";
import type { DeployStrategy } from "../config/app-json.js";
import { type ResolvedConfig, type ResolvedProcess, withStrategyDefaults } from "../config/resolve.js";
import { isDiskFull } from "../core/disk-full.js";
import { BatonError } from "../core/errors.js";
import { failpoint } from "../core/failpoint.js";
import type { Logger } from "../core/log.js";
import type { PoolSpec } from "../router/pool.js";
import type { AppStatsSnapshot } from "../router/stats.js";
import type { DeployRecord, ReleaseRecord, Store } from "../store/store.js";
import type { IdleCpuClass } from "../supervisor/cpu-class.js";
import type { AppUser } from "../supervisor/run-as.js";
import { routeSpec } from "./app-admin.js";
import { bake, baselineOf, type Standby } from "./bake.js";
import { type Booted, boot, checkStillRunning, checkStillServing, smoke, warm } from "./boot.js";
import { runCanary } from "./canary.js";
import { cleanupReleases, discardRelease } from "./cleanup.js";
import { DeployControls } from "./controls.js";
import type { EventLog } from "./events.js";
import type { InstanceRegistry } from "./instances.js";
import { lintNewMigrations } from "./lint-migrations.js";
import { appPaths, poolId, releaseName } from "./paths.js";
import { buildRelease, prepareRelease } from "./prepare.js";
import { replaceProcesses } from "./processes.js";
import { runHook, runReleasePhase } from "./release-phase.js";
import { rollOut } from "./rolling.js";
import type { RolloutHost } from "./rollout.js";
import { type StepContext, StepRecorder } from "./step-recorder.js";
import { drainHandedBack, failedSoFar, type TrafficDriver } from "./traffic.js";

export interface PipelineDeps {
  store: Store;
  traffic: TrafficDriver;
  instances: InstanceRegistry;
  events: EventLog;
  home: string;
  log: Logger;
  /** Base environment of every build, release command and instance (before config vars). */
  baseEnv: Record<string, string>;
  /** `baton server --user`: builds, release commands, hooks and instances run as this user. */
  appUser?: AppUser | undefined;
  /** Queue a rollback to `version` (after a failed bake with nothing on standby); its deploy id. */
  enqueueRollback?: (app: string, version: number) => number;
  /** The host's idle CPU class, where baton can make one: new instances warm up in it. */
  idleCpu?: IdleCpuClass | undefined;
}

/**
 * One deploy of the preboot strategy, as a persisted state machine: stage → build → release →
 * boot → warmup → smoke → switch → drain → stop → processes → cleanup. Until `switch` nothing a
 * user can see has changed, so any failure before it stops the new instances and leaves the old
 * Release serving; after it, the new Release is live and the remaining steps only tidy up.
 */
export class Pipeline {
  private readonly steps: StepRecorder;
  private booted: Booted[] = [];
  /** The Release this deploy made, once the stage step made it. */
  private release: ReleaseRecord | undefined;
  private config: ResolvedConfig | undefined;
  private switched = false;
  /** Promote or abort from a person, while a canary or bake runs. */
  readonly controls = new DeployControls();

  constructor(
    private readonly deps: PipelineDeps,
    private deploy: DeployRecord,
  ) {
    const paths = appPaths(deps.home, deploy.app);
    mkdirSync(paths.logs, { recursive: true, mode: 0o700 });
    this.steps = new StepRecorder(
      deps.store,
      deps.events,
      deploy.app,
      deploy.id,
      paths.deployLog(deploy.id),
      (step) => {
        // A cancel stops the deploy between steps, never inside one: a build or a migration half-run
        // and killed is worse than one that finishes and is then thrown away.
        const cancel = this.controls.cancel;
        if (cancel !== null && !this.switched)
          throw new BatonError("BATON_DEPLOY_CANCELLED", `${cancel.by} cancelled the deploy before its ${step} step`, {
            details: { by: cancel.by, before: step },
            hint: "nothing changed for users: the old release serves",
          });
      },
    );
  }

  async run(): Promise<DeployRecord> {
    const { store, events, traffic } = this.deps;
    const app = store.getApp(this.deploy.app);
    if (app === undefined) throw new BatonError("BATON_NOT_FOUND", `app "${this.deploy.app}" does not exist`);
    const fromVersion = app.currentVersion;
    const statsBefore = await traffic.appStats(app.name).catch(() => undefined);
    this.deploy = store.updateDeploy(this.deploy.id, { status: "running", startedAt: Date.now(), fromVersion });
    events.emit(app.name, this.deploy.id, "deploy.started", `${this.deploy.kind} of ${app.name} started`, {
      kind: this.deploy.kind,
      from: fromVersion,
    });
    try {
      await this.steps.run("stage", async (ctx) => {
        const release = await prepareRelease(this.deps, this.deploy, ctx, (version) => {
          // Linked at once, so a failure later in this step still finds the Release to discard.
          this.deploy = store.updateDeploy(this.deploy.id, { version });
        });
        this.release = release;
        return { details: { version: release.version, source: release.source, path: release.path } };
      });
      const staged = this.release;
      if (staged === undefined) throw new BatonError("BATON_STATE_CORRUPT", "the stage step made no release");
      const requestedBake = this.deploy.request.bakeMs;
      const resolved = withStrategyDefaults(staged.appConfig as ResolvedConfig);
      // `baton deploy --bake` overrides app.json for this deploy only.
      const config = typeof requestedBake === "number" ? { ...resolved, bakeMs: requestedBake } : resolved;
      this.config = config;
      // A rollback goes back all at once unless asked otherwise: the Release it returns to may be a
      // canary app, but users should not wait through canary steps to leave a bad release.
      const strategy =
        (this.deploy.request.strategy as DeployStrategy | undefined) ??
        (this.deploy.kind === "rollback" ? "preboot" : config.strategy);
      const env = { ...this.deps.baseEnv, ...staged.configVars };
      const isRollback = this.deploy.kind === "rollback";

      if (isRollback || this.deploy.kind === "config")
        this.steps.skip("build", `the code of ${staged.source.replace(/^rollback to /, "")} is already built`);
      else if (config.buildCommand === undefined)
        this.steps.skip("build", "no build command (no package.json, no baton.build)");
      else
        await this.steps.run("build", (ctx) =>
          buildRelease(staged, config, env, ctx, this.deps.appUser, this.deps.store),
        );

      const hookMs = config.timeouts.releaseMs;
      if (config.predeployCommand === undefined)
        this.steps.skip("predeploy", "app.json has no scripts.dokku.predeploy");
      else if (isRollback) this.steps.skip("predeploy", "rollbacks skip predeploy");
      else {
        const command = config.predeployCommand;
        await this.steps.run("predeploy", (ctx) =>
          runHook("predeploy", command, staged, env, hookMs, ctx, this.deps.appUser),
        );
      }

      if (config.migrations === undefined) this.steps.skip("lint", "app.json has no baton.migrations");
      else if (isRollback) this.steps.skip("lint", "rollbacks run no migrations");
      else {
        const previous = fromVersion === null ? undefined : store.getRelease(app.name, fromVersion);
        await this.steps.run("lint", (ctx) => lintNewMigrations(staged, previous, config, env, ctx));
      }

      if (config.releaseCommand === undefined) this.steps.skip("release", "the Procfile has no release command");
      else if (isRollback && this.deploy.request.releasePhase !== true)
        this.steps.skip("release", "rollbacks skip the release phase (use --release-phase to run it)");
      else await this.steps.run("release", (ctx) => runReleasePhase(staged, config, env, ctx, this.deps.appUser));

      const web = config.processes.find((p) => p.name === "web");
      const webQuantity = web === undefined ? 0 : Math.max(web.quantity, 1);
      if (web === undefined) {
        for (const name of ["boot", "warmup", "smoke", "switch", "drain", "bake", "stop"])
          this.steps.skip(name, "the Procfile has no web process");
      } else {
        await this.moveWebTraffic(strategy, web, webQuantity, statsBefore);
      }
      if (!this.switched) {
        // No web process: the new Release is live from here (its workers replace the old ones
        // next), so what fails after this point is reported, never undone half-way.
        this.goLive(staged);
        this.switched = true;
      }

      const others = config.processes.filter((p) => p.name !== "web");
      const oldOthers = this.deps.instances
        .list({ app: app.name })
        .filter((i) => i.type !== "web" && i.version !== staged.version);
      if (others.every((p) => p.quantity === 0) && oldOthers.length === 0)
        this.steps.skip("processes", "no other process types to run");
      else
        await this.steps.run("processes", async () => ({
          details: await replaceProcesses(this.deps, staged, config),
        }));

      let postdeployError: DeployRecord["error"] = null;
      if (config.postdeployCommand === undefined) this.steps.skip("postdeploy", "app.json has no postdeploy script");
      else if (isRollback) this.steps.skip("postdeploy", "rollbacks skip postdeploy");
      else {
        const command = config.postdeployCommand;
        try {
          await this.steps.run("postdeploy", (ctx) =>
            runHook("postdeploy", command, staged, env, hookMs, ctx, this.deps.appUser),
          );
        } catch (error) {
          // The new release is live and stays live: report the failed contract step, undo nothing.
          postdeployError = deployError(error);
        }
      }

      await this.steps.run("cleanup", async () => ({
        details: await cleanupReleases(this.deps, app.name, config.keepReleases, fromVersion),
      }));
      return await this.finish("succeeded", postdeployError, statsBefore);
    } catch (error) {
      const failure = asBatonError(error);
      if (failure.code === "BATON_DEPLOY_CANCELLED" && !this.switched) {
        await this.abandon(this.release);
        return await this.finish("cancelled", deployError(failure), statsBefore);
      }
      if (failure.code === "BATON_ROLLED_BACK" || failure.code === "BATON_DEPLOY_ABORTED") {
        // The strategy step already moved every user back to the old Release; what is left is
        // to stop the new instances (a canary's) and record why.
        if (!this.switched) await this.abandon(this.release);
        return await this.finish("rolled_back", deployError(failure), statsBefore, {
          evidence: failure.details.evidence ?? null,
        });
      }
      if (this.switched) {
        // The new Release serves; what failed was tidying up after it. Report, do not undo.
        this.deps.log.warn("deploy finished with a failed clean-up step", {
          deploy: this.deploy.id,
          error: failure.message,
        });
        return await this.finish("succeeded", null, statsBefore, {
          cleanupError: { code: failure.code, message: failure.message },
        });
      }
      await this.abandon(this.release);
      return await this.finish("failed", deployError(failure), statsBefore);
    }
  }

  /**
   * Boot, prove and switch the web instances the way the strategy says, then keep the old ones on
   * standby while the new Release bakes, then stop them. Until the switch nothing a user sees has
   * changed (a canary's share excepted, which its judge watches).
   */
  private async moveWebTraffic(
    strategy: DeployStrategy,
    web: ResolvedProcess,
    quantity: number,
    statsBefore: AppStatsSnapshot | undefined,
  ): Promise<void> {
    const { traffic, instances, store } = this.deps;
    const staged = this.mustHave(this.release, "release");
    const config = this.mustHave(this.config, "config");
    const app = this.mustHave(store.getApp(staged.app), "app");
    const fromVersion = this.deploy.fromVersion;
    const oldWeb = instances.list({ app: app.name, type: "web" }).filter((i) => i.version !== staged.version);
    const hasOld = fromVersion !== null && oldWeb.length > 0;
    const oldRelease = releaseName(fromVersion ?? 0);
    let effective = strategy;
    if (strategy !== "preboot" && !hasOld) {
      this.steps.say(`       nothing serves yet: the ${strategy} strategy deploys a first release like preboot`);
      effective = "preboot";
    }
    await traffic.putApp(routeSpec(app));
    const healthPath = config.readiness[0]?.path ?? "/";
    let pool: PoolSpec = {
      id: poolId(app.name, staged.version, this.deploy.id),
      release: releaseName(staged.version),
      targets: [],
      healthPath,
    };
    const withTargets = (): PoolSpec => ({
      ...pool,
      targets: this.booted.map((b) => ({ host: "127.0.0.1", port: b.record.port ?? 0 })),
    });

    if (effective === "rolling") {
      for (const name of ["boot", "warmup", "smoke"])
        this.steps.skip(name, "the rolling strategy boots, warms and proves each batch in the rollout step");
      await this.steps.run("rollout", async (ctx) => {
        const rolled = await rollOut(this.hostFor(ctx, oldRelease), web, quantity);
        pool = rolled.pool;
        return { details: { batches: rolled.batches } };
      });
    } else {
      await this.steps.run("boot", async () => {
        await boot(this.deps, staged, web, quantity, (b) => this.booted.push(b));
        return {
          details: {
            instances: this.booted.map((b) => ({ id: b.record.id, port: b.record.port, readyMs: b.readyMs })),
          },
        };
      });
      pool = withTargets();
      if (config.warmup === undefined) this.steps.skip("warmup", "app.json has no baton.warmup");
      else {
        const spec = config.warmup;
        await this.steps.run("warmup", async () => {
          // Prepared now, so part of the warm-up reaches the new instances through the router,
          // over the connections users' requests will take after the switch (see warm()).
          const prepared = await traffic.prepare(app.name, pool, { warmup: true }).catch(() => ({ warmup: undefined }));
          return { details: await warm(this.booted, spec, prepared.warmup, app.domains, this.deps.idleCpu) };
        });
      }
      if (config.smoke.length === 0) this.steps.skip("smoke", "app.json has no baton.smoke");
      else await this.steps.run("smoke", async () => ({ details: await smoke(this.booted, config.smoke) }));
      pool = withTargets();
      if (effective === "canary") {
        const canaryPool = pool;
        await this.steps.run("canary", async (ctx) => {
          const result = await runCanary(this.hostFor(ctx, oldRelease), canaryPool);
          return { details: { ...result, since: undefined } };
        });
      }
    }

    let previousPool: PoolSpec | null = null;
    await this.steps.run("switch", async () => {
      // The last moment to find a new instance that died after it passed readiness.
      if (effective === "preboot") checkStillRunning(this.booted);
      else checkStillServing(instances, this.booted);
      // Connections to the new instances opened a moment ahead, so the old Pool's load does not
      // arrive on connects. Only an optimisation: a router that cannot does the swap all the same.
      await traffic.prepare(app.name, pool).catch(() => undefined);
      failpoint("before-switch");
      const { previous } = await traffic.swap(app.name, pool);
      failpoint("after-switch-before-record");
      previousPool = previous;
      this.switched = true;
      this.goLive(staged);
      // The new release's app.json says whether the app redirects to HTTPS: true from its switch on.
      await traffic.putApp(routeSpec(store.getApp(app.name) ?? app, config));
      // A rolling deploy's last batch Pool (or a canary never promoted) must not keep a share.
      const leftover = await traffic.setCanary(app.name, null, 0);
      if (leftover !== null) await traffic.drain(leftover.id, { timeoutMs: 0 });
      this.deploy = store.updateDeploy(this.deploy.id, {
        details: { ...this.deploy.details, switchedAt: Date.now(), pool: pool.id, previousPool: previous?.id ?? null },
      });
      // From the switch on, `baton rollback` is instant: taken now, acted on when the bake starts
      // (right after the drain), which swaps the standby back.
      if (config.bakeMs > 0 && hasOld) this.controls.accepting = new Set(["promote", "abort"]);
      return { details: { pool: pool.id, previousPool: previous?.id ?? null } };
    });
    const statsAtSwitch = await traffic.appStats(app.name).catch(() => undefined);
    const standing = instances.list({ app: app.name, type: "web" }).filter((i) => i.version !== staged.version);
    const bakes = config.bakeMs > 0 && hasOld;
    // A rolling deploy has retired most old instances by now: the few left could not carry all the
    // traffic back, so they stop at once and a failing bake boots the old Release instead.
    const keepsStandby = bakes && effective !== "rolling";

    await this.steps.run("drain", async () => {
      const previous = previousPool as PoolSpec | null;
      if (previous === null) return { status: "skipped", details: { reason: "no previous pool" } };
      const report = await drainHandedBack(traffic, previous.id, config.timeouts.drainMs);
      // Drained of users, still running: the bake's warm standby.
      if (keepsStandby) for (const i of standing) instances.markStandby(i.id);
      return { details: { ...report } };
    });

    const stop = () => this.steps.run("stop", async () => ({ details: await this.stopOld("web", staged.version) }));
    if (!keepsStandby) await stop();
    if (!bakes) this.steps.skip("bake", hasOld ? "baton.bakeMs is 0" : "no old release to compare with");
    else {
      await this.steps.run("bake", async (ctx) => {
        const baseline = baselineOf(oldRelease, statsBefore, statsAtSwitch, config.rollback.minRequests);
        const standby: Standby | null =
          !keepsStandby || standing.length === 0
            ? null
            : {
                pool: {
                  id: `${poolId(app.name, fromVersion ?? 0, this.deploy.id)}-standby`,
                  release: oldRelease,
                  targets: standing.map((i) => ({ host: "127.0.0.1", port: i.port ?? 0 })),
                  healthPath: (previousPool as PoolSpec | null)?.healthPath ?? healthPath,
                },
                instanceIds: standing.map((i) => i.id),
              };
        const outcome = await bake(this.hostFor(ctx, oldRelease), statsBefore, baseline, standby);
        if (outcome.failure !== null) {
          if (standby === null) {
            // No old instance is left to swap back (rolling): boot the old Release again.
            const queued = this.deps.enqueueRollback?.(app.name, fromVersion ?? 0);
            ctx.output(`       rollback deploy ${queued ?? "?"} queued: it boots ${oldRelease} again\n`);
            const failure = asBatonError(outcome.failure);
            throw new BatonError(failure.code, failure.message, {
              details: { ...failure.details, rollbackDeploy: queued ?? null },
              hint: `${staged.app} v${staged.version} serves until rollback deploy ${queued ?? "?"} has booted ${oldRelease} again (no instance of it was left on standby after the rolling deploy)`,
            });
          }
          throw outcome.failure;
        }
        return { details: outcome.details };
      });
    }
    if (keepsStandby) await stop();
  }

  /** The strategy steps' view of this deploy, reporting through the running step's output. */
  private hostFor(ctx: StepContext, oldRelease: string): RolloutHost {
    const pipeline = this;
    return {
      deps: this.deps,
      controls: this.controls,
      get deploy() {
        return pipeline.deploy;
      },
      staged: this.mustHave(this.release, "release"),
      config: this.mustHave(this.config, "config"),
      oldRelease,
      booted: this.booted,
      say: (line) => ctx.output(`${line}\n`),
    };
  }

  private mustHave<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new BatonError("BATON_STATE_CORRUPT", `the deploy has no ${what} at this step`);
    return value;
  }

  /** The new Release serves: record it, and from now on restart its instances when they crash. */
  private goLive(release: ReleaseRecord): void {
    const { store, instances } = this.deps;
    store.transaction(() => {
      store.updateRelease(release.app, release.version, { status: "ready" });
      store.updateApp(release.app, { currentVersion: release.version });
    });
    for (const b of this.booted) {
      instances.markRunning(b.record.id);
      instances.keepAlive(b.record.id);
    }
  }

  /** Stop every instance of `type` that is not of `version`, all at once. */
  private async stopOld(type: string, version: number): Promise<Record<string, unknown>> {
    const old = this.deps.instances.list({ app: this.deploy.app, type }).filter((i) => i.version !== version);
    const results = await Promise.all(old.map(async (i) => ({ id: i.id, ...(await this.deps.instances.stop(i.id)) })));
    const killed = results.filter((r) => r.killed).map((r) => r.id);
    if (killed.length > 0) {
      const after = results.find((r) => r.killed)?.stopMs;
      this.steps.say(`       ${killed.join(", ")} ignored SIGTERM and was killed after its stop timeout (${after} ms)`);
    }
    return { stopped: results.length, killed };
  }

  /** Before the switch: stop what this deploy started and forget its Release. */
  private async abandon(release: ReleaseRecord | undefined): Promise<void> {
    const { instances, store, traffic } = this.deps;
    const version = this.deploy.version;
    if (version !== null) {
      // A canary or rolling batch of this Release may still have a share: take it out first, so
      // no user is sent to the instances stopped next.
      const routed = (await traffic.table().catch(() => undefined))?.apps.find((a) => a.name === this.deploy.app);
      if (routed?.canary?.pool.release === releaseName(version)) {
        const removed = await traffic.setCanary(this.deploy.app, null, 0).catch(() => null);
        if (removed !== null)
          await traffic
            .drain(removed.id, { timeoutMs: this.config?.timeouts.drainMs ?? 10_000 })
            .catch(() => undefined);
      }
      // The Pool prepared for the switch (and its warm-up host) goes before its instances do.
      await traffic.unprepare(this.deploy.app).catch(() => undefined);
      const mine = instances.list({ app: this.deploy.app, version });
      // New instances have had no users: no drain, and no reason to wait long for them.
      await Promise.all(mine.map((i) => instances.stop(i.id, 2_000)));
    }
    const staged = release ?? (version === null ? undefined : store.getRelease(this.deploy.app, version));
    if (staged !== undefined) {
      // The directory before any store write: after a full disk, its space is what the store needs.
      await discardRelease(this.deps, staged).catch(() => undefined);
      try {
        store.updateRelease(staged.app, staged.version, { status: "failed" });
      } catch (error) {
        // Still full: the deploy's failure is what matters to record next (finish tries that).
        if (!isDiskFull(error)) throw error;
        this.deps.log.warn("disk full: release not marked failed", { release: staged.version });
      }
    }
  }

  private async finish(
    status: "succeeded" | "failed" | "rolled_back" | "cancelled",
    error: DeployRecord["error"],
    statsBefore: Awaited<ReturnType<TrafficDriver["appStats"]>> | undefined,
    extra: Record<string, unknown> = {},
  ): Promise<DeployRecord> {
    const { store, events, traffic } = this.deps;
    const statsAfter = await traffic.appStats(this.deploy.app).catch(() => undefined);
    const failedRequests = Math.max(0, failedSoFar(statsAfter) - failedSoFar(statsBefore));
    this.deploy = store.updateDeploy(this.deploy.id, {
      status,
      error,
      finishedAt: Date.now(),
      phase: status,
      failedRequests,
      details: { ...this.deploy.details, ...extra },
    });
    const version = this.deploy.version === null ? "" : ` ${releaseName(this.deploy.version)}`;
    events.emit(
      this.deploy.app,
      this.deploy.id,
      status === "succeeded" ? "deploy.succeeded" : `deploy.${status}`,
      status === "succeeded"
        ? `${releaseName(this.deploy.version ?? 0)} is live`
        : status === "rolled_back"
          ? `deploy of${version} rolled back: ${error?.message ?? ""}`
          : status === "cancelled"
            ? `deploy of${version} cancelled: ${error?.message ?? ""}`
            : `deploy of${version} failed: ${error?.message ?? ""}`,
      { status, failedRequests, error },
    );
    return this.deploy;
  }
}

function asBatonError(error: unknown): BatonError {
  return error instanceof BatonError
    ? error
    : new BatonError("BATON_DEPLOY_FAILED", String((error as Error)?.message ?? error), { cause: error });
}

function deployError(error: unknown): NonNullable<DeployRecord["error"]> {
  const failure = asBatonError(error);
  return { code: failure.code, message: failure.message, ...(failure.hint ? { hint: failure.hint } : {}) };
}
