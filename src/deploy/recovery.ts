import type { ResolvedConfig } from "../config/resolve.js";
import { delay } from "../core/wait.js";
import type { DeployRecord, InstanceRecord } from "../store/store.js";
import { killCommandGroup } from "../supervisor/command.js";
import { leaveIdleClassOf } from "../supervisor/cpu-class.js";
import { isSameProcess } from "../supervisor/process-info.js";
import { routeSpec } from "./app-admin.js";
import { discardRelease } from "./cleanup.js";
import { poolId, releaseName } from "./paths.js";
import type { PipelineDeps } from "./pipeline.js";
import { replaceProcesses } from "./processes.js";
import { RUNNING_COMMAND, type RunningCommand } from "./step-recorder.js";

export interface RecoveryReport {
  adopted: number;
  restarted: string[];
  orphansStopped: string[];
  completed: number[];
  rolledBack: number[];
  /** Build, release or hook commands a dead control plane left running, by deploy: killed. */
  commandsKilled: Array<{ deploy: number; step: string; pid: number }>;
  /** Releases left pending by a deploy killed before it named them: marked failed, their files removed. */
  releasesDiscarded: Array<{ app: string; version: number }>;
}

/**
 * What a starting control plane does before it accepts work (invariants 2 and 4): re-adopt the
 * instances that still run, resolve every deploy a previous control plane left running, and make
 * the store, the router and the running processes agree again.
 *
 * The router is the judge of an interrupted deploy: if it already routes to the new Release, the
 * switch happened and the deploy is completed (drain, stop the old instances); if not, no user
 * ever saw the new Release and the deploy is rolled back (its instances stopped).
 */
export async function recover(deps: PipelineDeps): Promise<RecoveryReport> {
  const { store, instances, traffic, events } = deps;
  const { adopted, lost } = instances.adoptAll();
  // An instance left in the idle CPU class by a control plane killed during its warm-up gets its
  // priority back, whatever becomes of its deploy below (a rolled-back one is stopped anyway), and
  // whether or not this server has a class of its own.
  for (const record of adopted) {
    try {
      leaveIdleClassOf(record.pid);
    } catch (error) {
      // Not a reason to refuse to start: the instance still serves, only with less CPU.
      deps.log.warn("an adopted instance could not leave the idle CPU class", {
        instance: record.id,
        error: (error as Error).message,
      });
    }
  }
  const report: RecoveryReport = {
    adopted: adopted.length,
    restarted: [],
    orphansStopped: [],
    completed: [],
    rolledBack: [],
    commandsKilled: [],
    releasesDiscarded: [],
  };
  const table = await traffic.table();
  const activeRelease = (app: string) => table.apps.find((a) => a.name === app)?.active?.release ?? null;

  for (const running of store.listDeploys({ statuses: ["running"] })) {
    // First the command the dead control plane was running (its own process group, so it did not
    // die with it): a build still writing into the release directory, or a migration racing the
    // next deploy's, must be gone before anything is decided or removed.
    const deploy = await stopInterruptedCommand(deps, running, report);
    interruptSteps(deps, deploy);
    const switched = deploy.version !== null && activeRelease(deploy.app) === releaseName(deploy.version);
    if (switched) {
      await completeSwitched(
        deps,
        deploy,
        table.draining.filter((d) => d.app === deploy.app).map((d) => d.id),
      );
      report.completed.push(deploy.id);
    } else {
      // A canary of this deploy keeps its share in the router until taken out: take it out first,
      // so no user is sent to the instances stopped next.
      const canary = table.apps.find((a) => a.name === deploy.app)?.canary;
      if (
        canary !== null &&
        canary !== undefined &&
        deploy.version !== null &&
        canary.pool.release === releaseName(deploy.version)
      ) {
        const removed = await traffic.setCanary(deploy.app, null, 0);
        if (removed !== null) await traffic.drain(removed.id, { timeoutMs: 10_000 }).catch(() => undefined);
      }
      // And the Pool it prepared for its switch, with its warm-up host.
      await traffic.unprepare(deploy.app).catch(() => undefined);
      await rollBackUnswitched(deps, deploy);
      report.rolledBack.push(deploy.id);
    }
  }

  for (const listed of store.listApps()) {
    // Every deploy is resolved now, so a Release still pending belongs to none: a deploy killed in
    // its stage step between making the Release and naming it. It never served.
    for (const release of store.listReleases(listed.name).filter((r) => r.status === "pending")) {
      store.updateRelease(release.app, release.version, { status: "failed" });
      await discardRelease(deps, release).catch(() => undefined);
      report.releasesDiscarded.push({ app: release.app, version: release.version });
    }
    let app = listed;
    // The router is the truth about what users get. A control plane that died between a router
    // swap and the store write (a bake's swap back, say) left the store behind it: follow the
    // router when the Release it routes to still has running instances, or the loop below would
    // stop exactly the instances that serve.
    const routedRelease = activeRelease(app.name);
    const routedVersion = routedRelease === null ? null : Number(routedRelease.replace(/^v/, ""));
    if (
      routedVersion !== null &&
      routedVersion !== app.currentVersion &&
      instances.list({ app: app.name, version: routedVersion, type: "web" }).length > 0
    ) {
      deps.log.warn("the router serves another release than the store says; following the router", {
        app: app.name,
        store: app.currentVersion,
        router: routedVersion,
      });
      app = store.updateApp(app.name, { currentVersion: routedVersion });
    }
    const current = app.currentVersion;
    for (const record of instances.list({ app: app.name })) {
      if (record.version === current) {
        instances.markRunning(record.id);
        instances.keepAlive(record.id);
      } else {
        // Nothing but the current Release may run once every deploy is resolved.
        await instances.stop(record.id);
        report.orphansStopped.push(record.id);
      }
    }
    if (current === null) continue;
    const release = store.getRelease(app.name, current);
    if (release === undefined) continue;
    for (const gone of lost.filter((r) => r.app === app.name && r.version === current)) {
      const record = await instances.start({
        ...pick(gone),
        cwd: release.path,
        port: gone.port ?? undefined,
        restarts: gone.restarts + 1,
      });
      instances.markRunning(record.id);
      instances.keepAlive(record.id);
      report.restarted.push(record.id);
      events.emit(
        app.name,
        null,
        "instance.restarted",
        `${record.id} was not running when the server started; restarted`,
        { instance: record.id },
      );
    }
    await traffic.putApp(routeSpec(app, release.appConfig as ResolvedConfig));
    const web = instances.list({ app: app.name, version: current, type: "web" });
    const routed = table.apps.find((a) => a.name === app.name)?.active;
    const routedPorts = new Set(routed?.targets.map((t) => t.port) ?? []);
    if (
      web.length > 0 &&
      (routed === null || routed === undefined || web.some((w) => !routedPorts.has(w.port ?? -1)))
    ) {
      const config = release.appConfig as ResolvedConfig;
      const { previous } = await traffic.swap(app.name, {
        id: `${poolId(app.name, current, 0)}-r${Date.now()}`,
        release: releaseName(current),
        targets: web.map((w) => ({ host: "127.0.0.1", port: w.port ?? 0 })),
        healthPath: config.readiness[0]?.path ?? "/",
      });
      if (previous !== null)
        await traffic.drain(previous.id, { timeoutMs: config.timeouts.drainMs }).catch(() => undefined);
    }
  }
  if (
    report.completed.length +
      report.rolledBack.length +
      report.restarted.length +
      report.orphansStopped.length +
      report.commandsKilled.length +
      report.releasesDiscarded.length >
    0
  ) {
    deps.log.info("recovered after a restart", { ...report });
  }
  return report;
}

/** Kill the command the deploy's running step had started, if it still runs; the deploy without its record. */
async function stopInterruptedCommand(
  deps: PipelineDeps,
  deploy: DeployRecord,
  report: RecoveryReport,
): Promise<DeployRecord> {
  const command = deploy.details[RUNNING_COMMAND] as RunningCommand | undefined;
  if (command === undefined) return deploy;
  if (killCommandGroup(command)) {
    report.commandsKilled.push({ deploy: deploy.id, step: command.step, pid: command.pid });
    deps.log.warn("killed a command the previous control plane left running", {
      deploy: deploy.id,
      step: command.step,
      pid: command.pid,
    });
    // SIGKILL cannot be ignored; this only waits for the kernel to take the leader down.
    for (let i = 0; i < 40 && isSameProcess(command.pid, command.startTime); i++) await delay(25);
  }
  const details: Record<string, unknown> = { ...deploy.details, interruptedCommand: command.step };
  delete details[RUNNING_COMMAND];
  return deps.store.updateDeploy(deploy.id, { details });
}

/** The steps the dead control plane never finished: failed, so no step of a resolved deploy stays running. */
function interruptSteps(deps: PipelineDeps, deploy: DeployRecord): void {
  for (const step of deps.store.listSteps(deploy.id).filter((s) => s.status === "running")) {
    deps.store.finishStep(deploy.id, step.seq, {
      status: "failed",
      details: {
        ...step.details,
        code: "BATON_DEPLOY_INTERRUPTED",
        message: `the control plane stopped during the ${step.name} step`,
      },
    });
  }
}

function pick(r: InstanceRecord) {
  return { app: r.app, version: r.version, type: r.type, index: r.index, command: r.command };
}

async function completeSwitched(deps: PipelineDeps, deploy: DeployRecord, drainingPools: string[]): Promise<void> {
  const { store, instances, traffic, events } = deps;
  const version = deploy.version ?? 0;
  const release = store.getRelease(deploy.app, version);
  if (release === undefined) return;
  const config = release.appConfig as ResolvedConfig;
  store.transaction(() => {
    store.updateRelease(deploy.app, version, { status: "ready" });
    store.updateApp(deploy.app, { currentVersion: version });
  });
  for (const id of drainingPools) {
    await traffic.drain(id, { timeoutMs: config.timeouts.drainMs }).catch(() => undefined);
  }
  const oldWeb = instances.list({ app: deploy.app, type: "web" }).filter((i) => i.version !== version);
  await Promise.all(oldWeb.map((i) => instances.stop(i.id)));
  await replaceProcesses(deps, release, config);
  store.updateDeploy(deploy.id, {
    status: "succeeded",
    phase: "succeeded",
    finishedAt: Date.now(),
    details: { ...deploy.details, recovered: "the control plane restarted after the switch; the deploy was completed" },
  });
  events.emit(
    deploy.app,
    deploy.id,
    "deploy.succeeded",
    `${releaseName(version)} is live (completed after a control-plane restart)`,
    { recovered: true },
  );
}

async function rollBackUnswitched(deps: PipelineDeps, deploy: DeployRecord): Promise<void> {
  const { store, instances, events } = deps;
  if (deploy.version !== null) {
    const mine = instances.list({ app: deploy.app, version: deploy.version });
    await Promise.all(mine.map((i) => instances.stop(i.id, 2_000)));
    const release = store.getRelease(deploy.app, deploy.version);
    if (release !== undefined && release.status === "pending") {
      store.updateRelease(deploy.app, deploy.version, { status: "failed" });
      await discardRelease(deps, release).catch(() => undefined);
    }
  }
  const error = {
    code: "BATON_DEPLOY_INTERRUPTED",
    message: `the control plane stopped during the ${deploy.phase} step, before all traffic moved; the deploy was rolled back`,
    hint: "nothing changed for users; deploy again",
  };
  store.updateDeploy(deploy.id, { status: "failed", phase: "failed", finishedAt: Date.now(), error });
  events.emit(deploy.app, deploy.id, "deploy.failed", error.message, { error });
}
