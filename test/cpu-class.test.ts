import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { makeClassDir, openIdleCpuClass } from "../src/supervisor/cpu-class.js";
import { startNodeGroup } from "./helpers.js";

const opened = openIdleCpuClass();

/** The pids of process group `pgid`, from /proc. */
function members(pgid: number): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) === pgid) pids.push(Number(pid));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** The cgroup path of `pid` in the hierarchy that holds the cpu controller (v1), or v2's. */
function cpuCgroup(pid: number): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").filter(Boolean);
  const line = lines.find((l) => l.split(":")[1]?.split(",").includes("cpu")) ?? lines.find((l) => l.startsWith("0::"));
  return line?.split(":").slice(2).join(":") ?? "";
}

test("the idle CPU class takes a whole process group in and gives it back where it was", {
  // Where baton may not write a cgroup (not root, no delegated subtree), there is no class to test;
  // CI runs as root.
  skip: opened.ok ? false : `no idle CPU class here: ${opened.reason}`,
}, async () => {
  assert.ok(opened.ok);
  const { idle } = opened;
  assert.ok(existsSync(idle.path));
  const idleFile = `${idle.path}/cpu.idle`;
  if (existsSync(idleFile)) assert.equal(readFileSync(idleFile, "utf8").trim(), "1");

  const { pgid, kill } = await startNodeGroup();
  try {
    const pids = members(pgid);
    assert.equal(pids.length, 2);
    const before = new Map(pids.map((pid) => [pid, cpuCgroup(pid)]));

    assert.equal(idle.enter(pgid), 2);
    for (const pid of pids) {
      assert.ok(idle.holds(pid), `${pid} is in the class`);
      assert.ok(cpuCgroup(pid).endsWith("/baton-warmup"), cpuCgroup(pid));
    }
    assert.equal(idle.leave(pgid), 2);
    for (const pid of pids) {
      assert.equal(idle.holds(pid), false);
      assert.equal(cpuCgroup(pid), before.get(pid));
    }
    // Leaving twice moves nothing; a group that never entered is left alone.
    assert.equal(idle.leave(pgid), 0);
    assert.equal(idle.leave(process.pid), 0);
    assert.equal(cpuCgroup(process.pid), before.get(pgid));

    // close() removes the class when nobody is in it (a server beside this test may be: then it
    // stays); entering again makes it again.
    idle.close();
    assert.equal(idle.enter(pgid), 2);
    for (const pid of pids) assert.ok(idle.holds(pid), `${pid} is in the class again`);
    assert.equal(idle.leave(pgid), 2);
  } finally {
    kill();
  }
});

test("cgroup v2: the class goes under the nearest ancestor that hands the cpu controller down", () => {
  // A cgroup holding processes (baton's own) cannot hand controllers to children unless it is the
  // root, so the class is a sibling higher up. Played on a plain directory laid out like cgroupfs.
  const root = mkdtempSync(join(tmpdir(), "baton-cgroup-"));
  try {
    const own = join(root, "system.slice", "baton.service");
    mkdirSync(own, { recursive: true });
    writeFileSync(join(root, "cgroup.subtree_control"), "cpuset cpu io memory pids\n");
    writeFileSync(join(root, "system.slice", "cgroup.subtree_control"), "memory pids\n");
    const mount = { root: "/", point: root, type: "cgroup2", options: [] };
    // No cpu.idle file (a kernel before 5.15): the lowest weight instead.
    assert.deepEqual(makeClassDir({ version: 2, mount }, own), { path: join(root, "baton-warmup") });
    assert.equal(readFileSync(join(root, "baton-warmup", "cpu.weight"), "utf8"), "1");

    writeFileSync(join(root, "system.slice", "cgroup.subtree_control"), "cpu memory pids\n");
    assert.deepEqual(makeClassDir({ version: 2, mount }, own), { path: join(root, "system.slice", "baton-warmup") });

    // Nothing hands cpu down: no class, and the reason says so.
    writeFileSync(join(root, "cgroup.subtree_control"), "memory\n");
    writeFileSync(join(root, "system.slice", "cgroup.subtree_control"), "memory\n");
    const none = makeClassDir({ version: 2, mount }, own);
    assert.ok("reason" in none && /hands the cpu controller/.test(none.reason), JSON.stringify(none));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
