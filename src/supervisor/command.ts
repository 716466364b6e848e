import { spawn } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import { settledWithin } from "../core/wait.js";
import { reniceGroup } from "./priority.js";
import { readProcStat } from "./process-info.js";
import { type AppUser, spawnAs } from "./run-as.js";

/** A running command's process group leader, as the store keeps it: pid and /proc start time. */
export interface CommandProcess {
  pid: number;
  startTime: string;
}

export interface CommandSpec {
  command: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Every chunk of output as it arrives (for live deploy logs), and which stream it came from. */
  onOutput?: (chunk: string, stream: "stdout" | "stderr") => void;
  signal?: AbortSignal;
  /**
   * Run at this nice value (e.g. 10 for builds), so the command does not take CPU from the
   * instances that serve users meanwhile. Set on the whole process group right after the spawn;
   * children started later inherit it.
   */
  niceness?: number;
  /**
   * On a timeout or an abort, send the group SIGTERM and SIGKILL only this long after (a one-off
   * gets to finish its transaction). Without it the group is killed at once.
   */
  graceMs?: number;
  /** Once the command has exited, SIGKILL whatever it left running in its group (a one-off leaves nothing). */
  reapGroup?: boolean;
  /**
   * Called in the tick of the spawn with the group leader, so the caller can record it: the
   * command outlives a control plane killed under it (own group, nobody to kill it), and the next
   * control plane stops it with killCommandGroup.
   */
  onSpawn?: (process: CommandProcess) => void;
  /** Run as this user (`baton server --user`); as baton's own user when absent. */
  user?: AppUser | undefined;
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
    ...spawnAs(spec.user, spec.cwd, spec.env),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid !== undefined) spec.onSpawn?.({ pid: child.pid, startTime: readProcStat(child.pid)?.startTime ?? "" });
  if (spec.niceness !== undefined && child.pid !== undefined) {
    // The whole group: by now the shell may already have started the command under it. What it
    // starts later inherits the value. Not allowed here (some containers): normal priority.
    reniceGroup(child.pid, spec.niceness);
  }
  let output = "";
  const collect = (text: string, stream: "stdout" | "stderr"): void => {
    if (text === "") return;
    output = (output + text).slice(-MAX_OUTPUT);
    spec.onOutput?.(text, stream);
  };
  // One decoder per stream: a UTF-8 character split across two chunks arrives whole.
  for (const stream of ["stdout", "stderr"] as const) {
    const decoder = new StringDecoder("utf8");
    child[stream]?.on("data", (chunk: Buffer) => collect(decoder.write(chunk), stream));
    child[stream]?.on("end", () => collect(decoder.end(), stream));
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("close", (code, signal) => resolve({ code, signal }));
    child.once("error", (error) => {
      collect(`${error.message}\n`, "stderr");
      resolve({ code: 127, signal: null });
    });
  });
  const signalGroup = (signal: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  let stopping = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    if (spec.graceMs === undefined) {
      signalGroup("SIGKILL");
      return;
    }
    signalGroup("SIGTERM");
    killTimer = setTimeout(() => signalGroup("SIGKILL"), spec.graceMs);
  };
  spec.signal?.addEventListener("abort", stop, { once: true });
  if (spec.signal?.aborted === true) stop();
  const inTime = await settledWithin(exited, spec.timeoutMs);
  if (!inTime) stop();
  const { code, signal } = await exited;
  clearTimeout(killTimer);
  spec.signal?.removeEventListener("abort", stop);
  if (spec.reapGroup === true) signalGroup("SIGKILL");
  return { code: inTime ? code : null, signal, timedOut: !inTime, output, ms: Date.now() - started };
}

/**
 * SIGKILL the process group of a command a previous control plane started and recorded, if it
 * still runs. The leader's start time guards against a recycled pid; a leader that is gone while
 * its group lives on (children it left) is still ours, since Linux does not hand out a pid again
 * while a process group of that id exists. True when a group was signalled.
 */
export function killCommandGroup(command: CommandProcess): boolean {
  const leader = readProcStat(command.pid);
  if (command.startTime === "" || (leader !== undefined && leader.startTime !== command.startTime)) return false;
  try {
    process.kill(-command.pid, "SIGKILL");
    return true;
  } catch {
    // No such group: the command and everything it started are gone.
    return false;
  }
}
