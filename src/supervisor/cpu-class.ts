import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { BatonError } from "../core/errors.js";
import { type CpuHierarchy, cpuCgroupOf, cpuHierarchy, moveProcess, processesIn, readCgroupFile } from "./cgroups.js";
import { groupMembers } from "./priority.js";

/** The class's cgroup, under baton's own; each instance in it gets a child named by its group id. */
const CLASS_NAME = "baton-warmup";
/** Passes over an instance's cgroup when it leaves (a process may fork while it is being emptied). */
const LEAVE_ROUNDS = 5;

/**
 * An idle CPU class: a cgroup with `cpu.idle` set (the kernel's SCHED_IDLE for a whole group, Linux
 * 5.15+), or the lowest CPU weight where that file is missing. Its processes run only when no
 * other process of baton's cgroup wants the core, and a process of the live path that wakes takes
 * the core from them at once.
 *
 * Why a cgroup and not a nice value: new instances warm up beside the live ones, and once proved
 * they must get their normal priority back. Raising a nice value needs no privilege but lowering it
 * again does (RLIMIT_NICE is 0 on most systems), and SCHED_IDLE cannot be left without it either;
 * moving a process between cgroups baton may write to can be undone at will.
 *
 * Each instance gets a cgroup of its own inside the class, so leaving takes every process it has
 * there, including ones it forked (or detached with setsid) after it entered, and the instance is
 * out only once that cgroup is empty and removed.
 */
export interface IdleCpuClass {
  /** The class's cgroup directory. */
  readonly path: string;
  /** Move every process of group `pgid` into the class; returns how many moved. */
  enter(pgid: number): number;
  /**
   * Move every process the instance led by `pgid` has in the class back to where its leader was;
   * returns how many moved. Throws BATON_DEPLOY_FAILED when one stays (it must not serve users
   * from the class).
   */
  leave(pgid: number): number;
  /** Whether process `pid` is in the class now. */
  holds(pid: number): boolean;
}

export type IdleCpuClassResult = { ok: true; idle: IdleCpuClass } | { ok: false; reason: string };

/**
 * v1: a child of baton's own cgroup (v1 lets a cgroup with processes have children, and moves a
 * process in the cpu hierarchy alone, so its memory and other limits stay where they were). v2:
 * only when baton's own cgroup is the root (a container, a machine without systemd): elsewhere its
 * cgroup holds processes and cannot hand the cpu controller to a child, and a class beside it would
 * take the instances out of its memory and task limits (and out of `systemctl stop`'s reach).
 */
export function makeClassDir(hierarchy: CpuHierarchy, own: string): { path: string } | { reason: string } {
  if (hierarchy.version === 2 && own !== hierarchy.mount.point)
    return {
      reason: `cgroup v2: baton's cgroup ${own} holds processes, so it cannot hand the cpu controller to a child (a class beside it would leave its memory and task limits)`,
    };
  const path = join(own, CLASS_NAME);
  try {
    if (hierarchy.version === 2 && !(readCgroupFile(own, "cgroup.subtree_control") ?? "").split(/\s+/).includes("cpu"))
      writeFileSync(join(own, "cgroup.subtree_control"), "+cpu");
    if (!existsSync(path)) mkdirSync(path);
    if (existsSync(join(path, "cpu.idle"))) writeFileSync(join(path, "cpu.idle"), "1");
    else if (hierarchy.version === 2) writeFileSync(join(path, "cpu.weight"), "1");
    else writeFileSync(join(path, "cpu.shares"), "2");
    return { path };
  } catch (error) {
    return { reason: `cannot make the idle cgroup ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
}

/** Open the idle class, or say why there is none here. Linux only. */
export function openIdleCpuClass(): IdleCpuClassResult {
  if (process.platform !== "linux") return { ok: false, reason: "cgroups are Linux's" };
  const hierarchy = cpuHierarchy();
  if (hierarchy === undefined) return { ok: false, reason: "no cgroup file system with the cpu controller is visible" };
  const own = cpuCgroupOf("self", hierarchy);
  if (own === undefined) return { ok: false, reason: "baton's own cgroup is not visible in this mount namespace" };
  const made = makeClassDir(hierarchy, own);
  if ("reason" in made) return { ok: false, reason: made.reason };
  const { path } = made;
  sweepEmpty(path);
  // Where each instance's leader was when it entered, to go back to (normally baton's own cgroup).
  const origins = new Map<number, string>();
  const holds = (pid: number): boolean => cpuCgroupOf(pid, hierarchy)?.startsWith(`${path}/`) === true;
  return {
    ok: true,
    idle: {
      path,
      holds,
      enter(pgid) {
        const origin = cpuCgroupOf(pgid, hierarchy);
        if (origin === undefined || origin.startsWith(`${path}/`)) return 0;
        const dir = join(path, String(pgid));
        origins.set(pgid, origin);
        let moved = 0;
        // Twice: another server opening the class sweeps empty cgroups, this one included if it
        // comes between the mkdir and the first move.
        for (let attempt = 0; attempt < 2 && moved === 0; attempt++) {
          try {
            if (!existsSync(dir)) mkdirSync(dir);
          } catch {
            return 0; // the class is gone (removed by hand): the instance warms up at normal priority
          }
          for (const pid of groupMembers(pgid) ?? [String(pgid)]) if (moveProcess(dir, pid)) moved++;
        }
        return moved;
      },
      leave(pgid) {
        const moved = emptyInto(join(path, String(pgid)), origins.get(pgid) ?? own, pgid);
        origins.delete(pgid);
        return moved;
      },
    },
  };
}

/**
 * Remove the cgroups of instances that died in the class (a deploy cut short with its server): an
 * empty cgroup costs little, but they would pile up until the next boot. Best effort; one that
 * another server is about to fill is simply made again by its enter().
 */
function sweepEmpty(path: string): void {
  let entries: string[];
  try {
    entries = readdirSync(path, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return;
  }
  for (const name of entries) {
    const dir = join(path, name);
    if (processesIn(dir).length > 0) continue;
    try {
      rmdirSync(dir);
    } catch {
      // in use again, or not ours
    }
  }
}

/**
 * Move every process in an instance's cgroup inside the class to `origin` and remove the cgroup;
 * returns how many moved. Throws when a process stays in it.
 */
function emptyInto(dir: string, origin: string, pgid: number): number {
  if (!existsSync(dir)) return 0;
  let moved = 0;
  for (let round = 0; round < LEAVE_ROUNDS; round++) {
    const pids = processesIn(dir);
    if (pids.length === 0) break;
    for (const pid of pids) if (moveProcess(origin, pid)) moved++;
  }
  try {
    rmdirSync(dir);
  } catch (error) {
    const stayed = processesIn(dir);
    if ((error as NodeJS.ErrnoException).code !== "ENOENT" && stayed.length > 0)
      throw new BatonError(
        "BATON_DEPLOY_FAILED",
        `process ${stayed.join(", ")} of the instance led by ${pgid} stayed in the idle CPU class ${dir}`,
        {
          hint: `the deploy stops rather than let it serve users there; move it out by hand: echo PID > ${origin}/cgroup.procs`,
        },
      );
  }
  return moved;
}

/**
 * Take an adopted instance out of the idle class wherever a previous server put it (a server killed
 * during a warm-up, or started from another cgroup since): back into this server's cgroup, where a
 * new instance would be. Works without a class of its own; returns how many processes moved.
 */
export function leaveIdleClassOf(pgid: number): number {
  if (process.platform !== "linux") return 0;
  const hierarchy = cpuHierarchy();
  if (hierarchy === undefined) return 0;
  const dir = cpuCgroupOf(pgid, hierarchy);
  const own = cpuCgroupOf("self", hierarchy);
  if (dir === undefined || own === undefined || basename(dirname(dir)) !== CLASS_NAME) return 0;
  return emptyInto(dir, own, pgid);
}
