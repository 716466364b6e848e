import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { groupMembers } from "./priority.js";

/** The cgroup's name, under the cgroup that grants it CPU controls; shared by every baton server. */
const CLASS_NAME = "baton-warmup";

/**
 * An idle CPU class: a cgroup with `cpu.idle` set (the kernel's SCHED_IDLE for a whole group, Linux
 * 5.15+), or the lowest CPU weight where that file is missing. Its processes run only when no
 * other process wants the core, and a process of the live path that wakes takes the core from
 * them at once.
 *
 * Why a cgroup and not a nice value: new instances warm up beside the live ones, and once proved
 * they must get their normal priority back. Raising a nice value needs no privilege but lowering it
 * again does (RLIMIT_NICE is 0 on most systems), and SCHED_IDLE cannot be left without it either;
 * moving a process between cgroups baton may write to can be undone at will. Where baton may not
 * (no cgroup it can write, cgroup v2 without a delegated subtree), there is no class and warm-up
 * runs at normal priority, as it always did.
 */
export interface IdleCpuClass {
  /** The cgroup directory. */
  readonly path: string;
  /** Move every process of group `pgid` into the class; returns how many moved. */
  enter(pgid: number): number;
  /** Move every process of group `pgid` that is in the class back to where its leader was; returns how many moved. */
  leave(pgid: number): number;
  /** Whether process `pid` is in the class now. */
  holds(pid: number): boolean;
  /** Remove the cgroup when nobody uses it any more (another server may: then it stays). */
  close(): void;
}

export type IdleCpuClassResult = { ok: true; idle: IdleCpuClass } | { ok: false; reason: string };

interface CgroupLine {
  hierarchy: string;
  controllers: string[];
  path: string;
}

export interface Mount {
  root: string;
  point: string;
  type: string;
  options: string[];
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** /proc/PID/cgroup: `hierarchy:controllers:path` per line (v2's line is `0::path`). */
function cgroupLines(pid: number | "self"): CgroupLine[] {
  return (read(`/proc/${pid}/cgroup`) ?? "")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [hierarchy = "", controllers = "", ...rest] = line.split(":");
      return { hierarchy, controllers: controllers.split(",").filter(Boolean), path: rest.join(":") };
    });
}

/** Cgroup mounts from /proc/self/mountinfo (fields after " - " are type, source, super options). */
function cgroupMounts(): Mount[] {
  const mounts: Mount[] = [];
  for (const line of (read("/proc/self/mountinfo") ?? "").split("\n")) {
    const [before, after] = line.split(" - ");
    if (before === undefined || after === undefined) continue;
    const fields = before.split(" ");
    const [type = "", , superOptions = ""] = after.split(" ");
    if (type !== "cgroup" && type !== "cgroup2") continue;
    mounts.push({ root: fields[3] ?? "/", point: fields[4] ?? "", type, options: superOptions.split(",") });
  }
  return mounts;
}

/** Where cgroup `path` of a hierarchy is in the file system, through a mount of it. */
function directory(mount: Mount, path: string): string | undefined {
  if (mount.root === "/") return join(mount.point, path);
  if (path === mount.root || path.startsWith(`${mount.root}/`)) return join(mount.point, path.slice(mount.root.length));
  return undefined; // the mount shows another part of the hierarchy
}

/**
 * The directory of a process's cpu cgroup and how to find it again for another process: v1's cpu
 * hierarchy when there is one (a controller lives in one hierarchy only), else v2's.
 */
export interface Hierarchy {
  version: 1 | 2;
  mount: Mount;
  /** The /proc/PID/cgroup line that names this hierarchy. */
  matches(line: CgroupLine): boolean;
}

function cpuHierarchy(): Hierarchy | undefined {
  const mounts = cgroupMounts();
  const v1 = mounts.find((m) => m.type === "cgroup" && m.options.includes("cpu"));
  if (v1 !== undefined) return { version: 1, mount: v1, matches: (l) => l.controllers.includes("cpu") };
  const v2 = mounts.find((m) => m.type === "cgroup2");
  if (v2 !== undefined) return { version: 2, mount: v2, matches: (l) => l.hierarchy === "0" };
  return undefined;
}

function cgroupDirOf(pid: number | "self", hierarchy: Hierarchy): string | undefined {
  const line = cgroupLines(pid).find((l) => hierarchy.matches(l));
  return line === undefined ? undefined : directory(hierarchy.mount, line.path);
}

/**
 * v1: a child of baton's own cgroup (v1 lets any cgroup have children). v2: a child of the nearest
 * ancestor whose children have the cpu controller (a cgroup holding processes, like baton's own,
 * cannot hand it down unless it is the root), that baton may create a directory in.
 */
export function makeClassDir(
  hierarchy: Pick<Hierarchy, "version" | "mount">,
  own: string,
): { path: string } | { reason: string } {
  const candidates: string[] = [];
  if (hierarchy.version === 1) candidates.push(own);
  else
    for (let dir = own; dir.startsWith(hierarchy.mount.point); dir = join(dir, "..")) {
      if ((read(join(dir, "cgroup.subtree_control")) ?? "").split(/\s+/).includes("cpu")) candidates.push(dir);
      if (dir === hierarchy.mount.point) break;
    }
  if (candidates.length === 0)
    return { reason: `no cgroup above ${own} hands the cpu controller to its children (cgroup v2)` };
  let last = "";
  for (const parent of candidates) {
    const path = join(parent, CLASS_NAME);
    try {
      mkdirSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        last = `${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
        continue;
      }
    }
    try {
      if (existsSync(join(path, "cpu.idle"))) writeFileSync(join(path, "cpu.idle"), "1");
      else if (hierarchy.version === 2) writeFileSync(join(path, "cpu.weight"), "1");
      else writeFileSync(join(path, "cpu.shares"), "2");
      return { path };
    } catch (error) {
      last = `${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
    }
  }
  return { reason: `cannot create an idle cgroup (${last})` };
}

function move(dir: string, pid: string): boolean {
  try {
    writeFileSync(join(dir, "cgroup.procs"), pid);
    return true;
  } catch {
    return false; // exited meanwhile, or not ours to move
  }
}

/** Open the idle class, or say why there is none here. Linux only. */
export function openIdleCpuClass(): IdleCpuClassResult {
  if (process.platform !== "linux") return { ok: false, reason: "cgroups are Linux's" };
  const hierarchy = cpuHierarchy();
  if (hierarchy === undefined) return { ok: false, reason: "no cgroup file system is mounted" };
  const own = cgroupDirOf("self", hierarchy);
  if (own === undefined) return { ok: false, reason: "baton's own cgroup is not visible in this mount namespace" };
  const made = makeClassDir(hierarchy, own);
  if ("reason" in made) return { ok: false, reason: made.reason };
  const path = made.path;
  // Where each group's leader was when it entered, to go back to (normally baton's own cgroup).
  const origins = new Map<number, string>();
  const holds = (pid: number): boolean => cgroupDirOf(pid, hierarchy) === path;
  return {
    ok: true,
    idle: {
      path,
      holds,
      enter(pgid) {
        // Another server's close() may have removed it while it was empty.
        if (!existsSync(path)) makeClassDir(hierarchy, own);
        const origin = cgroupDirOf(pgid, hierarchy);
        if (origin === undefined) return 0;
        if (origin !== path) origins.set(pgid, origin);
        let moved = 0;
        for (const pid of groupMembers(pgid) ?? [String(pgid)]) if (move(path, pid)) moved++;
        return moved;
      },
      leave(pgid) {
        const origin = origins.get(pgid) ?? own;
        origins.delete(pgid);
        let moved = 0;
        for (const pid of groupMembers(pgid) ?? [String(pgid)]) if (holds(Number(pid)) && move(origin, pid)) moved++;
        return moved;
      },
      close() {
        try {
          rmdirSync(path);
        } catch {
          // EBUSY: another server's instances are warming up in it; it is theirs to remove.
        }
      },
    },
  };
}
