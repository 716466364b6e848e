import { spawn } from "node:child_process";
import { setPriority } from "node:os";
import { settledWithin } from "../core/wait.js";

export interface CommandSpec {
  command: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Every chunk of output as it arrives (for live deploy logs). */
  onOutput?: (chunk: string) => void;
  signal?: AbortSignal;
  /**
   * Run at this nice value (e.g. 10 for builds), so the command does not take CPU from the
   * instances that serve users meanwhile. Set right after the spawn; children inherit it.
   */
  niceness?: number;
}

export interface CommandResult {
  /** Exit code; null when killed by a signal or the timeout. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  output: string;
  ms: number;
}

/** Output kept in memory per command; the store keeps the tail of it anyway. */
const MAX_OUTPUT = 256 * 1024;

/**
 * Run a build or release-phase command to completion in its own process group, so a timeout or
 * an abort stops everything it started (npm spawns children that would otherwise survive).
 */
export async function runCommand(spec: CommandSpec): Promise<CommandResult> {
  const started = Date.now();
  const child = spawn("/bin/sh", ["-c", spec.command], {
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (spec.niceness !== undefined && child.pid !== undefined) {
    try {
      setPriority(child.pid, spec.niceness);
    } catch {
      // Not allowed here (some containers): the command runs at normal priority.
    }
  }
  let output = "";
  const collect = (chunk: Buffer): void => {
    const text = chunk.toString("utf8");
    output = (output + text).slice(-MAX_OUTPUT);
    spec.onOutput?.(text);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("close", (code, signal) => resolve({ code, signal }));
    child.once("error", (error) => {
      collect(Buffer.from(`${error.message}\n`));
      resolve({ code: 127, signal: null });
    });
  });
  const killGroup = (): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  };
  const onAbort = (): void => killGroup();
  spec.signal?.addEventListener("abort", onAbort, { once: true });
  const inTime = await settledWithin(exited, spec.timeoutMs);
  if (!inTime) killGroup();
  const { code, signal } = await exited;
  spec.signal?.removeEventListener("abort", onAbort);
  return { code: inTime ? code : null, signal, timedOut: !inTime, output, ms: Date.now() - started };
}
