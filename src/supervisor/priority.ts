import { readdirSync, readFileSync } from "node:fs";
import { setPriority } from "node:os";
import { readProcStat } from "./process-info.js";

/**
 * Set the nice value of every thread of every process in process group `pgid`; returns how many
 * threads took it.
 *
 * `setpriority()` on Linux changes one thread, and an instance is more than its first process's
 * main thread: V8 runs its compiler and GC on threads of their own, and `web: npm start` makes the
 * real server a child of npm. Processes and threads started later inherit the nice value of the
 * thread that forks them, so once this has run the whole group stays at it: for a group that has
 * been running a while (an instance being stopped), and for one just spawned (a build), whose
 * shell may already have started its command. Without /proc (not Linux), only the leader is
 * reniced. Raising a nice value needs no privilege; lowering one does, and any thread that refuses
 * (or exits meanwhile) is skipped.
 */
export function reniceGroup(pgid: number, niceness: number): number {
  const members = groupMembers(pgid);
  if (members === undefined) return renice(pgid, niceness) ? 1 : 0;
  let threads = 0;
  for (const pid of members) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // exited while we looked
    }
    for (const tid of tids) if (renice(Number(tid), niceness)) threads++;
  }
  return threads;
}

/**
 * The processes of group `pgid`. Walked down from the leader through each thread's `children`
 * file, which costs a few reads per member. A scan of all of /proc (about 1 ms per 70 processes
 * here, and this runs as a deploy's old instances stop, beside the new ones' first users) only
 * where that walk cannot see the group: a kernel without `children` files, or a leader that is
 * gone or a zombie (its children went to another parent, out of its tree). Undefined without /proc.
 */
export function groupMembers(pgid: number): string[] | undefined {
  const leader = String(pgid);
  if (readChildren(leader) !== undefined && readProcStat(pgid)?.state !== "Z") {
    const members: string[] = [];
    const seen = new Set<string>();
    const queue = [leader];
    for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
      // A child being reparented can be listed twice; one that left the group (setsid, setpgid)
      // or is gone is not ours.
      if (seen.has(pid)) continue;
      seen.add(pid);
      if (processGroupOf(pid) !== pgid) continue;
      members.push(pid);
      queue.push(...(readChildren(pid) ?? []));
    }
    return members;
  }
  try {
    return readdirSync("/proc").filter((entry) => /^\d+$/.test(entry) && processGroupOf(entry) === pgid);
  } catch {
    return undefined;
  }
}

/** Child pids of every thread of `pid`; undefined when the kernel has no such file (or no such pid). */
function readChildren(pid: string): string[] | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const children: string[] = [];
  for (const tid of tids) {
    try {
      children.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ").filter(Boolean));
    } catch {
      if (tid === pid) return undefined;
    }
  }
  return children;
}

function renice(id: number, niceness: number): boolean {
  try {
    setPriority(id, niceness);
    return true;
  } catch {
    return false;
  }
}

function processGroupOf(pid: string): number | undefined {
  return readProcStat(Number(pid))?.processGroup;
}
