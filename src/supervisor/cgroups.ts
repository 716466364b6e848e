import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A cgroup file system mount, from /proc/self/mountinfo. */
export interface Mount {
  /** The part of the hierarchy the mount shows ("/" unless a container's view). */
  root: string;
  point: string;
  type: "cgroup" | "cgroup2";
  options: string[];
}

/** The hierarchy that holds the cpu controller: v1's cpu one when there is one, else v2's. */
export interface CpuHierarchy {
  version: 1 | 2;
  mount: Mount;
}

interface CgroupLine {
  hierarchy: string;
  controllers: string[];
  path: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** mountinfo writes a space, a tab, a newline and a backslash in a path as octal escapes. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
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

/** Cgroup mounts in a mountinfo text (fields after " - " are type, source, super options). */
export function parseCgroupMounts(mountinfo: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of mountinfo.split("\n")) {
    const [before, after] = line.split(" - ");
    if (before === undefined || after === undefined) continue;
    const fields = before.split(" ");
    const [type = "", , superOptions = ""] = after.split(" ");
    if (type !== "cgroup" && type !== "cgroup2") continue;
    mounts.push({
      root: unescapeMountPath(fields[3] ?? "/"),
      point: unescapeMountPath(fields[4] ?? ""),
      type,
      options: superOptions.split(","),
    });
  }
  return mounts;
}

/** Where cgroup `path` is in the file system through `mount`; undefined when the mount does not show it. */
export function cgroupDirectory(mount: Mount, path: string): string | undefined {
  if (mount.root === "/") return join(mount.point, path);
  if (path === mount.root || path.startsWith(`${mount.root}/`)) return join(mount.point, path.slice(mount.root.length));
  return undefined;
}

function lineFor(pid: number | "self", version: 1 | 2): CgroupLine | undefined {
  const lines = cgroupLines(pid);
  return version === 1 ? lines.find((l) => l.controllers.includes("cpu")) : lines.find((l) => l.hierarchy === "0");
}

/**
 * The cpu hierarchy as this process sees it: v1's when the cpu controller is bound there (a
 * controller lives in one hierarchy only), else v2's; of several mounts of it, one that shows this
 * process's own cgroup.
 */
export function cpuHierarchy(): CpuHierarchy | undefined {
  const mounts = parseCgroupMounts(read("/proc/self/mountinfo") ?? "");
  const own1 = lineFor("self", 1);
  if (own1 !== undefined) {
    const mount = mounts.find(
      (m) => m.type === "cgroup" && m.options.includes("cpu") && cgroupDirectory(m, own1.path) !== undefined,
    );
    return mount === undefined ? undefined : { version: 1, mount };
  }
  const own2 = lineFor("self", 2);
  if (own2 === undefined) return undefined;
  const mount = mounts.find((m) => m.type === "cgroup2" && cgroupDirectory(m, own2.path) !== undefined);
  return mount === undefined ? undefined : { version: 2, mount };
}

/** The directory of a process's cgroup in the cpu hierarchy; undefined once it is gone. */
export function cpuCgroupOf(pid: number | "self", hierarchy: CpuHierarchy): string | undefined {
  const line = lineFor(pid, hierarchy.version);
  return line === undefined ? undefined : cgroupDirectory(hierarchy.mount, line.path);
}

/** The processes in a cgroup directory (its cgroup.procs); empty when it is gone. */
export function processesIn(dir: string): string[] {
  return (read(join(dir, "cgroup.procs")) ?? "").split("\n").filter(Boolean);
}

/** Move process `pid` into cgroup `dir`; false when it exited meanwhile or is not ours to move. */
export function moveProcess(dir: string, pid: string): boolean {
  try {
    writeFileSync(join(dir, "cgroup.procs"), pid);
    return true;
  } catch {
    return false;
  }
}

export function readCgroupFile(dir: string, file: string): string | undefined {
  return read(join(dir, file));
}
