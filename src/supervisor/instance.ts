import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { BatonError } from "../core/errors.js";
import { settledWithin } from "../core/wait.js";
import { isSameProcess, readProcStat } from "./process-info.js";
import { type AppUser, spawnAs } from "./run-as.js";

export interface InstanceSpec {
  /** ProcessType name from the Procfile ("web", "worker", ...). */
  type: string;
  release: string;
  command: string;
  cwd: string;
  env: Record<string, string>;
  port: number;
  logPath: string;
  /** Run as this user (`baton server --user`); as baton's own user when absent. */
  user?: AppUser | undefined;
}

export type InstanceState = "starting" | "running" | "stopping" | "exited";

/** How the process ended; both null for an adopted instance (only its parent, init, learns that). */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How often an adopted instance is checked for having gone: it is not our child, so no exit event. */
const ADOPTED_POLL_MS = 250;

/**
 * Proof that a pid was checked against its start time. Only Instance.adopt() makes one, so an
 * Instance cannot be built around an unchecked (possibly recycled) pid.
 */
class Adoption {
  // Private fields make the type nominal: an object of the same shape is not an Adoption.
  readonly #pid: number;
  readonly #startTime: string;
  constructor(pid: number, startTime: string) {
    this.#pid = pid;
    this.#startTime = startTime;
  }
  get pid(): number {
    return this.#pid;
  }
  get startTime(): string {
    return this.#startTime;
  }
}

/**
 * One OS process of a ProcessType of a Release. It runs in its own process group (so a stop
 * reaches the children it forks) and writes to a log file rather than a pipe (so it outlives the
 * process that started it). `new Instance(spec)` spawns one; `Instance.adopt()` takes over one that
 * a previous control plane spawned.
 */
export class Instance {
  readonly pid: number;
  /**
   * /proc start time of pid: with the pid, what the store keeps to find this process again. Empty
   * only without /proc (not Linux), and then adopt() never matches, which is the safe failure.
   */
  readonly startTime: string;
  /** The ChildProcess when we spawned it; undefined when adopted (it is init's child now). */
  readonly child: ChildProcess | undefined;
  state: InstanceState;
  readonly exited: Promise<ExitStatus>;
  private markExited: (status: ExitStatus) => void = () => {};
  private poller: NodeJS.Timeout | undefined;
  private stopping: Promise<{ killed: boolean }> | undefined;

  constructor(
    readonly spec: InstanceSpec,
    adoption?: Adoption,
  ) {
    this.exited = new Promise((resolve) => {
      this.markExited = (status) => {
        if (this.state === "exited") return;
        this.state = "exited";
        clearInterval(this.poller);
        resolve(status);
      };
    });
    if (adoption !== undefined) {
      this.child = undefined;
      this.pid = adoption.pid;
      this.startTime = adoption.startTime;
      this.state = "running";
      this.poller = setInterval(() => this.alive(), ADOPTED_POLL_MS);
      // An adopted instance must not keep the control plane alive; its keeper has its own timers.
      this.poller.unref();
      return;
    }
    this.state = "starting";
    const child = spawnDetached(spec);
    this.child = child;
    child.once("exit", (code, signal) => this.markExited({ code, signal }));
    // Read before anything can reap the child: even if it already died it is a zombie until the
    // event loop turns, so its start time is still there.
    this.pid = child.pid as number;
    this.startTime = readProcStat(this.pid)?.startTime ?? "";
  }

  /**
   * Take over a process a previous control plane spawned, by pid and the start time recorded then.
   * Undefined when that process is gone (or the pid now names another process).
   */
  static adopt(spec: InstanceSpec, pid: number, startTime: string): Instance | undefined {
    if (!isSameProcess(pid, startTime)) return undefined;
    return new Instance(spec, new Adoption(pid, startTime));
  }

  /** True while the process runs (a zombie does not). */
  alive(): boolean {
    if (this.state === "exited") return false;
    if (isSameProcess(this.pid, this.startTime)) return true;
    // Our own child's exit event carries its code and signal; only an adopted one ends here.
    if (this.child === undefined) this.markExited({ code: null, signal: null });
    return false;
  }

  /**
   * SIGTERM to the whole process group, then SIGKILL after `stopTimeoutMs`. Resolves once the
   * process has exited; idempotent (a second call gets the first call's result).
   */
  stop(stopTimeoutMs: number): Promise<{ killed: boolean }> {
    if (this.stopping !== undefined) return this.stopping;
    if (this.state === "exited") return Promise.resolve({ killed: false });
    this.stopping = this.terminate(stopTimeoutMs);
    return this.stopping;
  }

  /** True once stop() was called: an exit after that is a stop, not a crash. */
  get stopRequested(): boolean {
    return this.stopping !== undefined;
  }

  /**
   * SIGKILL the whole group now, without a stop request: to whoever keeps it (CrashKeeper) this
   * is a crash, so it is restarted. For an instance that stopped answering, where a polite
   * SIGTERM would wait on the same hang. False when the process is gone already.
   */
  kill(): boolean {
    if (this.stopRequested || !this.alive()) return false;
    signalGroup(this.pid, "SIGKILL");
    return true;
  }

  /**
   * SIGKILL what is left of the process group once the process itself has exited: children it
   * forked that would otherwise live on unsupervised (and might hold its port). Does nothing while
   * the process runs, so it can never stand in for stop().
   */
  killLeftovers(): void {
    if (this.state === "exited") signalGroup(this.pid, "SIGKILL");
  }

  /**
   * Stop watching the process and let the control plane exit while it keeps running (the next
   * control plane adopts it). `exited` may then never settle.
   */
  detach(): void {
    this.child?.unref();
    clearInterval(this.poller);
    this.poller = undefined;
  }

  private async terminate(stopTimeoutMs: number): Promise<{ killed: boolean }> {
    // An adopted pid can be recycled between polls: never signal a group that is not ours any
    // more. (Our own child's pid cannot be: it stays reserved until we reap it, i.e. until `exited`.)
    if (this.child === undefined && !this.alive()) return { killed: false };
    this.state = "stopping";
    // An adopted process's exit is seen only by the poller, unref'd so it never keeps a control
    // plane alive. A stop waits on it, though: a server that is still recovering has nothing else
    // to keep it alive, and would exit (code 0, silently) half-way through the stop.
    this.poller?.ref();
    signalGroup(this.pid, "SIGTERM");
    const exitedInTime = await settledWithin(this.exited, stopTimeoutMs);
    // Whatever is left of the group goes now: the app itself when it ignored SIGTERM, or children
    // it forked and left behind when it did exit.
    signalGroup(this.pid, "SIGKILL");
    await this.exited;
    return { killed: !exitedInTime };
  }
}

function spawnDetached(spec: InstanceSpec): ChildProcess {
  // O_APPEND ("a"): writes land at the end even after logs.ts truncates the file under the app.
  // Opened here, by baton, and handed over as a descriptor: an app user needs no right to the file
  // or to the logs directory (it cannot read the other instances' logs).
  const log = openSync(spec.logPath, "a", 0o600);
  let child: ChildProcess;
  try {
    child = spawn("/bin/sh", ["-c", `exec ${spec.command}`], {
      cwd: spec.cwd,
      ...spawnAs(spec.user, spec.cwd, { ...spec.env, PORT: String(spec.port) }),
      detached: true,
      stdio: ["ignore", log, log],
    });
  } finally {
    closeSync(log);
  }
  // A failed spawn is reported below by the missing pid; its 'error' event, which comes a tick
  // later, must not crash the control plane as an unhandled error.
  child.on("error", () => {});
  if (child.pid === undefined) {
    throw new BatonError("BATON_USAGE", `instance of ${spec.type} (${spec.release}) failed to spawn`, {
      details: { command: spec.command, cwd: spec.cwd },
      hint: "check that the release directory exists and the command is runnable",
    });
  }
  return child;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}
