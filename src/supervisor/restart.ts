import { performance } from "node:perf_hooks";
import { BatonError } from "../core/errors.js";
import { type ExitStatus, Instance, type InstanceSpec } from "./instance.js";

/** When a crashed instance comes back. Every figure is an option so tests can run in milliseconds. */
export interface RestartPolicy {
  /** Delay before the first restart; it doubles with each crash in a row. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** An instance that stayed up this long counts as healthy: its next crash starts over at initialBackoffMs. */
  stableAfterMs: number;
  /** This many crashes within crashLoopWindowMs is a crash loop. */
  crashLoopCrashes: number;
  crashLoopWindowMs: number;
}

export const DEFAULT_RESTART_POLICY: Readonly<RestartPolicy> = Object.freeze({
  initialBackoffMs: 1_000,
  maxBackoffMs: 30_000,
  stableAfterMs: 60_000,
  crashLoopCrashes: 5,
  crashLoopWindowMs: 120_000,
});

export interface CrashInfo extends ExitStatus {
  /** Crashes in a row, this one included: since an instance last stayed up stableAfterMs. */
  crashes: number;
  /** When the replacement will be spawned. */
  restartInMs: number;
  /** Set when it was the restart itself that failed (the command could not be spawned). */
  error?: unknown;
}

export interface CrashKeeperOptions {
  policy?: Partial<RestartPolicy>;
  onCrash?(instance: Instance, info: CrashInfo): void;
  /** `attempt` is the number of crashes in a row this restart answers. */
  onRestart?(instance: Instance, attempt: number): void;
  /** Called once per crash loop; the loop ends when an instance stays up stableAfterMs. */
  onCrashLoop?(instance: Instance, crashes: number): void;
  /** How a replacement is made; spawns a new local Instance of the same spec (same port) by default. */
  spawn?(spec: InstanceSpec): Instance;
}

/** watching: the instance runs · waiting: it crashed and its restart is scheduled · stopped. */
export type CrashKeeperState = "watching" | "waiting" | "stopped";

/**
 * Keeps one instance running: when it exits without having been asked to stop, it is restarted
 * with the same spec (so the same port, and the router's Target stays valid) after an
 * exponential backoff. A crash loop is reported once and then retried at the longest backoff,
 * because a loop is usually an outside cause (a database down) that may pass.
 */
export class CrashKeeper {
  private readonly policy: Readonly<RestartPolicy>;
  private current: Instance;
  private status: CrashKeeperState = "watching";
  private upSince = 0;
  private inARow = 0;
  private crashTimes: number[] = [];
  private looping = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    instance: Instance,
    private readonly options: CrashKeeperOptions = {},
  ) {
    this.policy = resolvePolicy(options.policy);
    this.current = instance;
    this.watch(instance);
  }

  /** The instance now kept (the latest replacement after a restart). */
  get instance(): Instance {
    return this.current;
  }

  get state(): CrashKeeperState {
    return this.status;
  }

  /**
   * Stop watching and cancel a pending restart. The instance itself is left as it is: stopping it
   * is the caller's move, and on control-plane shutdown it must keep running.
   */
  stop(): void {
    this.status = "stopped";
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private watch(instance: Instance): void {
    this.current = instance;
    this.status = "watching";
    this.upSince = performance.now();
    void instance.exited.then((exit) => {
      if (this.status === "stopped" || instance !== this.current) return;
      // A stop someone asked for is not a crash; there is nothing left to keep.
      if (instance.stopRequested) {
        this.stop();
        return;
      }
      // Children the app forked would otherwise live on unsupervised, perhaps holding its port.
      // Done at once: the longer after the exit, the likelier its group id names another group.
      instance.killLeftovers();
      this.crashed(instance, exit);
    });
  }

  private crashed(instance: Instance, exit: ExitStatus, error?: unknown): void {
    const now = performance.now();
    if (now - this.upSince >= this.policy.stableAfterMs) {
      this.inARow = 0;
      this.looping = false;
    }
    this.inARow++;
    this.crashTimes = this.crashTimes.filter((t) => now - t < this.policy.crashLoopWindowMs);
    this.crashTimes.push(now);
    const newLoop = !this.looping && this.crashTimes.length >= this.policy.crashLoopCrashes;
    if (newLoop) this.looping = true;
    const restartInMs = this.looping
      ? this.policy.maxBackoffMs
      : Math.min(this.policy.initialBackoffMs * 2 ** (this.inARow - 1), this.policy.maxBackoffMs);
    // Scheduled before the callbacks run, so a throwing callback cannot leave the app down.
    this.restartAfter(instance, restartInMs);
    this.options.onCrash?.(instance, {
      ...exit,
      crashes: this.inARow,
      restartInMs,
      ...(error === undefined ? {} : { error }),
    });
    if (newLoop) this.options.onCrashLoop?.(instance, this.crashTimes.length);
  }

  private restartAfter(crashed: Instance, delayMs: number): void {
    this.status = "waiting";
    // Not unref'd: a pending restart is work the control plane still has to do.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.status === "stopped") return;
      let next: Instance;
      try {
        next = this.options.spawn?.(crashed.spec) ?? new Instance(crashed.spec);
      } catch (error) {
        // Counted as a crash with no uptime, so a command that cannot even spawn backs off too.
        this.upSince = performance.now();
        this.crashed(crashed, { code: null, signal: null }, error);
        return;
      }
      this.watch(next);
      this.options.onRestart?.(next, this.inARow);
    }, delayMs);
  }
}

function resolvePolicy(partial: Partial<RestartPolicy> = {}): Readonly<RestartPolicy> {
  const policy = { ...DEFAULT_RESTART_POLICY, ...partial };
  const problems = Object.entries(policy)
    .filter(([, value]) => !Number.isFinite(value) || value < 0)
    .map(([key, value]) => `${key} must be a finite number ≥ 0 (got ${value})`);
  if (policy.crashLoopCrashes < 1) problems.push("crashLoopCrashes must be at least 1");
  if (policy.maxBackoffMs < policy.initialBackoffMs) problems.push("maxBackoffMs must be ≥ initialBackoffMs");
  if (problems.length > 0) {
    throw new BatonError("BATON_CONFIG_INVALID", `invalid restart policy: ${problems.join("; ")}`, {
      details: { problems },
    });
  }
  return Object.freeze(policy);
}
