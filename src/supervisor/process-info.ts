import { readFileSync } from "node:fs";

/** The fields of /proc/<pid>/stat that identify a process, say whether it still runs, and its group. */
export interface ProcStat {
  /** Field 3: R, S, D, Z (zombie), X (dead), ... */
  state: string;
  /** Field 5: the process group. */
  processGroup: number;
  /** Field 22: clock ticks after boot when the process started; never changes for its lifetime. */
  startTime: string;
}

/**
 * Parse one /proc/<pid>/stat line. Field 2 (comm) is the executable's name in parentheses and may
 * itself contain spaces and parentheses ("a) (b"), so the fixed fields are counted from the LAST
 * ')' rather than by splitting the whole line on spaces.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const commEnd = text.lastIndexOf(")");
  if (commEnd < 0) return undefined;
  const rest = text
    .slice(commEnd + 1)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state), so field 5 is rest[2] and field 22 is rest[19].
  const state = rest[0];
  const processGroup = Number(rest[2]);
  const startTime = rest[19];
  if (state === undefined || startTime === undefined || !/^\d+$/.test(startTime)) return undefined;
  if (!Number.isSafeInteger(processGroup)) return undefined;
  return { state, processGroup, startTime };
}

/** The stat of `pid` whatever its state (a zombie included); undefined when there is no such pid. */
export function readProcStat(pid: number): ProcStat | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * The start time of a running process, or undefined when it is gone. A zombie counts as gone: it
 * has exited and only waits for its parent (init, for an instance whose control plane died) to
 * reap it.
 */
export function processStartTime(pid: number): string | undefined {
  const stat = readProcStat(pid);
  if (stat === undefined || stat.state === "Z" || stat.state === "X" || stat.state === "x") return undefined;
  return stat.startTime;
}

/**
 * True when `pid` still names the process that had `startTime`. A pid alone is not enough: the
 * kernel hands out pids again, and signalling a recycled one would hit an unrelated process.
 */
export function isSameProcess(pid: number, startTime: string): boolean {
  return startTime !== "" && processStartTime(pid) === startTime;
}

/** Whether any process has this pid (ours or not); for waiting on a process we did not start. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
