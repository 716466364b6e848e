import type { ResolvedConfig, ResolvedProcess } from "../config/resolve.js";
import { BatonError } from "../core/errors.js";
import { warmupHostHeader } from "../router/app-route.js";
import type { InstanceRecord, ReleaseRecord } from "../store/store.js";
import type { IdleCpuClass } from "../supervisor/cpu-class.js";
import type { Instance } from "../supervisor/instance.js";
import { waitChecks } from "../supervisor/readiness.js";
import { smokeTest } from "../supervisor/smoke.js";
import type { PipelineDeps } from "./pipeline.js";
import type { WarmupRoute } from "./traffic.js";
import { warmUp } from "./warmup.js";
import { idleWhileWarming } from "./warmup-cpu.js";

/** A new web instance that passed readiness, with a flag that trips if it exits afterwards. */
export interface Booted {
  record: InstanceRecord;
  instance: Instance;
  readyMs: number;
  exitedAfterReady: boolean;
}

/** Readiness polls this often: a proven instance should not wait long for its traffic. */
const READY_INTERVAL_MS = 100;
/** Consecutive passes that prove an instance is ready (one lucky answer is not enough). */
const READY_PASSES = 2;

/**
 * The `boot` step: start `quantity` web instances of the new Release beside the old ones (each on
 * its own port, in its own process group) and wait until every one passes the readiness checks.
 * `onStarted` sees each instance as soon as it exists, so a failure can stop all of them.
 */
export async function boot(
  deps: PipelineDeps,
  release: ReleaseRecord,
  web: ResolvedProcess,
  quantity: number,
  onStarted: (booted: Booted) => void,
  /** Index of the first instance (web.1, web.2 ...); a rolling batch continues where the last one ended. */
  firstIndex = 1,
): Promise<void> {
  const config = release.appConfig as ResolvedConfig;
  await Promise.all(
    Array.from({ length: quantity }, async (_, n) => {
      const record = await deps.instances.start({
        app: release.app,
        version: release.version,
        type: "web",
        index: firstIndex + n,
        command: web.command,
        cwd: release.path,
      });
      const instance = deps.instances.instance(record.id);
      if (instance === undefined) throw new BatonError("BATON_INSTANCE_CRASHED", `${record.id} exited at once`);
      const booted: Booted = { record, instance, readyMs: 0, exitedAfterReady: false };
      onStarted(booted);
      const { ms } = await waitChecks(record.port ?? 0, config.readiness, {
        passes: READY_PASSES,
        intervalMs: READY_INTERVAL_MS,
        bootTimeoutMs: config.timeouts.bootMs,
        exited: instance.exited,
      });
      booted.readyMs = ms;
      void instance.exited.then(() => {
        booted.exitedAfterReady = true;
      });
    }),
  );
}

/** Fails the deploy when a new instance exited after it had passed readiness. */
export function checkStillRunning(booted: readonly Booted[]): void {
  const dead = booted.filter((b) => b.exitedAfterReady || !b.instance.alive());
  if (dead.length > 0) {
    throw new BatonError(
      "BATON_INSTANCE_CRASHED",
      `${dead.map((b) => b.record.id).join(", ")} exited after passing readiness`,
      {
        details: { instances: dead.map((b) => b.record.id) },
        hint: "the new release crashes soon after it starts; `baton logs` shows its output. The old release still serves",
      },
    );
  }
}

/**
 * Before the switch of a canary or rolling deploy: its instances already served users and were
 * restarted on a crash (which the judge counted), so "alive now" is the test, not "never exited".
 */
export function checkStillServing(instances: PipelineDeps["instances"], booted: readonly Booted[]): void {
  const dead = booted.filter((b) => instances.instance(b.record.id)?.alive() !== true);
  if (dead.length > 0) {
    throw new BatonError(
      "BATON_INSTANCE_CRASHED",
      `${dead.map((b) => b.record.id).join(", ")} is not running at the switch`,
      {
        details: { instances: dead.map((b) => b.record.id) },
        hint: "the new release crashed while it had a share of traffic; `baton logs` shows its output. The old release serves",
      },
    );
  }
}

/**
 * The `warmup` step: `spec.count` requests for each new instance before any user meets it. With
 * `through` (the traffic driver routes warm-up to the prepared Pool), the first half go straight
 * to each instance and the second half through the router, spread over the Pool: the router's
 * connections to the new instances, and the code that uses them on both sides, are then warm
 * before the switch. Straight warm-up alone left a dip in the first quarter second after the
 * switch that the routed half removes (`node bench/deploy/swap-jit.mjs`, docs/architecture.md).
 */
export async function warm(
  booted: readonly Booted[],
  spec: NonNullable<ResolvedConfig["warmup"]>,
  through: WarmupRoute | undefined,
  /** The app's domains: the straight half carries the first that is not a wildcard as its Host. */
  domains: readonly string[],
  /** The host's idle CPU class, when baton has one: the instances warm up in it (`warmup.cpu`). */
  idle?: IdleCpuClass,
): Promise<Record<string, unknown>> {
  const started = Date.now();
  const cpu = idleWhileWarming(
    booted.map((b) => b.instance.pid),
    spec.cpu === "idle" ? idle : undefined,
  );
  const result = await warmBoth(booted, spec, through, domains, started).catch((error: unknown) => {
    cpu.abandon(); // the instances are stopped next in any case
    throw error;
  });
  return { ...result, ...cpu.leave() };
}

async function warmBoth(
  booted: readonly Booted[],
  spec: NonNullable<ResolvedConfig["warmup"]>,
  through: WarmupRoute | undefined,
  domains: readonly string[],
  started: number,
): Promise<Record<string, unknown>> {
  const direct = through === undefined ? spec.count : Math.ceil(spec.count / 2);
  // An app that checks Host (Rails' config.hosts, Django's ALLOWED_HOSTS) would refuse
  // 127.0.0.1:PORT; the router gives the routed half the same Host (AppRoute.forwardHost).
  const hostHeader = warmupHostHeader(domains);
  const base = {
    requests: spec.requests,
    concurrency: spec.concurrency,
    timeoutMs: spec.timeoutMs,
    ...(hostHeader === undefined ? {} : { hostHeader }),
  };
  const results = await Promise.all(booted.map((b) => warmUp(b.record.port ?? 0, { ...base, count: direct })));
  const straightMs = Date.now() - started;
  const routed =
    through === undefined || direct >= spec.count
      ? undefined
      : // `concurrency` in all, not per instance: this half shares the router with live traffic
        // (bench:deploy, 3 interleaved runs each way: warm-up step p99 1.69-1.86x the idle p99
        // against 1.86-2.32x with concurrency per instance).
        await warmUp(
          through.port,
          { ...base, count: (spec.count - direct) * booted.length, hostHeader: through.hostHeader },
          through.host,
        );
  checkStillRunning(booted);
  if (routed !== undefined) results.push(routed);
  const ok = results.reduce((n, r) => n + r.ok, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  return {
    requests: ok + failed,
    ok,
    failed,
    ms: Date.now() - started,
    ...(routed === undefined
      ? {}
      : {
          throughRouter: {
            requests: routed.ok + routed.failed,
            failed: routed.failed,
            ms: Date.now() - started - straightMs,
          },
        }),
  };
}

/** The `smoke` step: every smoke request must get its expected status from every new instance. */
export async function smoke(
  booted: readonly Booted[],
  checks: ResolvedConfig["smoke"],
): Promise<Record<string, unknown>> {
  const failures = (
    await Promise.all(
      booted.map(async (b) =>
        (await smokeTest(b.record.port ?? 0, checks, 10_000)).map((f) => ({ instance: b.record.id, ...f })),
      ),
    )
  ).flat();
  checkStillRunning(booted);
  if (failures.length > 0) {
    const first = failures[0];
    throw new BatonError(
      "BATON_SMOKE_FAILED",
      `smoke request ${first?.path} got ${first?.got === 0 ? "no answer" : `HTTP ${first?.got}`}, expected ${first?.expected}`,
      {
        details: { failures },
        hint: "the new release answers its smoke requests wrongly; the old release still serves",
      },
    );
  }
  return { requests: checks.length * booted.length };
}
