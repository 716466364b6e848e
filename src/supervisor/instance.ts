import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { BatonError } from "../core/errors.js";
import { settledWithin } from "../core/wait.js";

export interface InstanceSpec {
  /** ProcessType name from the Procfile ("web", "worker", ...). */
  type: string;
  release: string;
  command: string;
  cwd: string;
  env: Record<string, string>;
  port: number;
  logPath: string;
}

export type InstanceState = "starting" | "running" | "stopping" | "exited";

/**
 * One OS process of a ProcessType of a Release. It runs in its own process group (so a stop
 * reaches the children it forks) and writes to a log file rather than a pipe (so it outlives the
 * process that started it).
 */
export class Instance {
  readonly child: ChildProcess;
  state: InstanceState = "starting";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly spec: InstanceSpec) {
    const log = openSync(spec.logPath, "a", 0o600);
    try {
      this.child = spawn("/bin/sh", ["-c", `exec ${spec.command}`], {
        cwd: spec.cwd,
        env: { ...spec.env, PORT: String(spec.port) },
        detached: true,
        stdio: ["ignore", log, log],
      });
    } finally {
      closeSync(log);
    }
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.state = "exited";
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new BatonError("BATON_USAGE", `instance of ${this.spec.type} failed to spawn`);
    return pid;
  }

  /**
   * SIGTERM to the whole process group, then SIGKILL after `stopTimeoutMs`. Resolves once the
   * process has exited; idempotent.
   */
  async stop(stopTimeoutMs: number): Promise<{ killed: boolean }> {
    if (this.state === "exited") return { killed: false };
    this.state = "stopping";
    signalGroup(this.pid, "SIGTERM");
    const exitedInTime = await settledWithin(this.exited, stopTimeoutMs);
    // Whatever is left of the group goes now: the app itself when it ignored SIGTERM, or children
    // it forked and left behind when it did exit.
    signalGroup(this.pid, "SIGKILL");
    await this.exited;
    return { killed: !exitedInTime };
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}
