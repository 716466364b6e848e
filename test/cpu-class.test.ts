import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BatonError } from "../src/core/errors.js";
import { idleWhileWarming } from "../src/deploy/warmup-cpu.js";
import { cgroupDirectory, parseCgroupMounts } from "../src/supervisor/cgroups.js";
import { type IdleCpuClass, leaveIdleClassOf, makeClassDir, openIdleCpuClass } from "../src/supervisor/cpu-class.js";

const opened = openIdleCpuClass();
// Where baton may not make a cgroup (not root; cgroup v2 below the root), there is no class to
// test; CI runs as root.
const noClass = opened.ok ? false : `no idle CPU class here: ${opened.reason}`;

/** The cgroup path of `pid` in the hierarchy that holds the cpu controller (v1), or v2's. */
function cpuCgroup(pid: number): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").filter(Boolean);
  const line = lines.find((l) => l.split(":")[1]?.split(",").includes("cpu")) ?? lines.find((l) => l.startsWith("0::"));
  return line?.split(":").slice(2).join(":") ?? "";
}

/**
 * An instance in small: a Node leader in a process group of its own that, on a line on its stdin,
 * forks two more Node processes, one in its group and one detached (setsid) out of it, and prints
 * their pids.
 */
async function startInstance(): Promise<{ pgid: number; fork(): Promise<number[]>; kill(): void }> {
  const sleeper = "setInterval(() => {}, 1000)";
  const script = `
    const { spawn } = require("node:child_process");
    console.log("up");
    process.stdin.on("data", () => {
      const a = spawn(process.execPath, ["-e", ${JSON.stringify(sleeper)}], { stdio: "ignore" });
      const b = spawn(process.execPath, ["-e", ${JSON.stringify(sleeper)}], { stdio: "ignore", detached: true });
      console.log("forked " + a.pid + " " + b.pid);
    });
    ${sleeper};`;
  const leader = spawn(process.execPath, ["-e", script], { detached: true, stdio: ["pipe", "pipe", "ignore"] });
  const pgid = leader.pid as number;
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  leader.stdout.on("data", (chunk: Buffer) => {
    lines.push(...chunk.toString().split("\n").filter(Boolean));
    for (const w of waiters.splice(0)) w();
  });
  const line = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${prefix}" line within 10 s`)), 10_000);
      const check = () => {
        const found = lines.find((l) => l.startsWith(prefix));
        if (found === undefined) return void waiters.push(check);
        clearTimeout(timer);
        resolve(found);
      };
      check();
    });
  const forked: number[] = [];
  await line("up");
  return {
    pgid,
    async fork() {
      leader.stdin.write("fork\n");
      const pids = (await line("forked")).split(" ").slice(1).map(Number);
      forked.push(...pids);
      return pids;
    },
    kill() {
      for (const target of [-pgid, ...forked]) {
        try {
          process.kill(target, "SIGKILL");
        } catch {
          // already gone
        }
      }
    },
  };
}

test("an instance leaves the idle class with every process it has there, forked or detached since", {
  skip: noClass,
}, async () => {
  assert.ok(opened.ok);
  const { idle } = opened;
  const idleFile = join(idle.path, "cpu.idle");
  if (existsSync(idleFile)) assert.equal(readFileSync(idleFile, "utf8").trim(), "1");
  const instance = await startInstance();
  try {
    const origin = cpuCgroup(instance.pgid);
    assert.equal(idle.enter(instance.pgid), 1);
    assert.ok(idle.holds(instance.pgid));
    assert.ok(cpuCgroup(instance.pgid).endsWith(`/baton-warmup/${instance.pgid}`), cpuCgroup(instance.pgid));
    // Born in the class: a child in the group and one that left it with setsid.
    const children = await instance.fork();
    for (const pid of children) assert.ok(idle.holds(pid), `${pid}, forked after entering, is in the class`);

    assert.equal(idle.leave(instance.pgid), 3);
    for (const pid of [instance.pgid, ...children]) {
      assert.equal(idle.holds(pid), false, `${pid} left`);
      assert.equal(cpuCgroup(pid), origin);
    }
    assert.equal(existsSync(join(idle.path, String(instance.pgid))), false, "its cgroup is removed");
    // Leaving twice moves nothing; a group that never entered is left alone.
    assert.equal(idle.leave(instance.pgid), 0);
    assert.equal(idle.leave(process.pid), 0);
  } finally {
    instance.kill();
  }
});

test("a restarted server takes an adopted instance out of the idle class without a class of its own", {
  skip: noClass,
}, async () => {
  assert.ok(opened.ok);
  const instance = await startInstance();
  try {
    const origin = cpuCgroup(process.pid);
    assert.equal(opened.idle.enter(instance.pgid), 1);
    const children = await instance.fork();
    // What recovery does for each adopted instance: no IdleCpuClass, only the instance's pid.
    assert.equal(leaveIdleClassOf(instance.pgid), 3);
    for (const pid of [instance.pgid, ...children]) assert.equal(cpuCgroup(pid), origin);
    assert.equal(leaveIdleClassOf(instance.pgid), 0);
    assert.equal(leaveIdleClassOf(process.pid), 0);

    // The cgroup of an instance that died in the class goes when the next server opens it.
    const stale = join(opened.idle.path, "999999999");
    mkdirSync(stale);
    assert.ok(openIdleCpuClass().ok);
    assert.equal(existsSync(stale), false, "an empty instance cgroup is swept");
  } finally {
    instance.kill();
  }
});

test("a warm-up's stay in the class ends at leave(), abandon() or its limit, and a failure to leave is thrown by leave()", async () => {
  const calls: string[] = [];
  let failLeave = false;
  // Resolved when the last instance has been asked to leave: the limit's timer has fired.
  let lastLeft = (): void => undefined;
  const fake: IdleCpuClass = {
    path: "/fake",
    enter: (pgid) => {
      calls.push(`enter ${pgid}`);
      return 2;
    },
    leave: (pgid) => {
      calls.push(`leave ${pgid}`);
      if (pgid === 11) lastLeft();
      if (failLeave && pgid === 11) throw new BatonError("BATON_DEPLOY_FAILED", "stayed");
      return 2;
    },
    holds: () => false,
  };
  const quick = idleWhileWarming([10, 11], fake, 60_000);
  assert.deepEqual(calls, ["enter 10", "enter 11"]);
  const details = quick.leave();
  assert.equal(details.cpu, "idle");
  assert.equal(details.processes, 4);
  assert.equal(details.idleLimitReached, undefined);
  assert.deepEqual(calls.slice(2), ["leave 10", "leave 11"]);
  assert.deepEqual(quick.leave(), details, "leave() twice moves nothing more");
  assert.equal(calls.length, 4);

  // The limit takes them out while the warm-up goes on; a failure then waits for leave().
  calls.length = 0;
  failLeave = true;
  const atLimit = new Promise<void>((resolve) => {
    lastLeft = resolve;
  });
  const slow = idleWhileWarming([10, 11], fake, 30);
  await atLimit;
  assert.deepEqual(calls, ["enter 10", "enter 11", "leave 10", "leave 11"], "left at the limit, every instance tried");
  assert.throws(() => slow.leave(), /stayed/);

  // A warm-up that failed takes them out without its own error being replaced by this one.
  calls.length = 0;
  const failed = idleWhileWarming([10, 11], fake, 60_000);
  assert.doesNotThrow(() => failed.abandon());
  assert.deepEqual(calls, ["enter 10", "enter 11", "leave 10", "leave 11"]);

  assert.deepEqual(idleWhileWarming([10], undefined).leave(), { cpu: "normal" });
});

test("cgroup v2: a class only under the root cgroup, where the controller can be handed down", () => {
  const root = mkdtempSync(join(tmpdir(), "baton-cgroup-"));
  try {
    const mount = { root: "/", point: root, type: "cgroup2" as const, options: [] };
    writeFileSync(join(root, "cgroup.subtree_control"), "memory pids\n");
    // Played on a plain directory: no cpu.idle file appears (as before Linux 5.15), so the lowest weight.
    assert.deepEqual(makeClassDir({ version: 2, mount }, root), { path: join(root, "baton-warmup") });
    assert.equal(readFileSync(join(root, "cgroup.subtree_control"), "utf8"), "+cpu");
    assert.equal(readFileSync(join(root, "baton-warmup", "cpu.weight"), "utf8"), "1");

    // A systemd service's cgroup holds its processes: no class, and the reason says why.
    const own = join(root, "system.slice", "baton.service");
    mkdirSync(own, { recursive: true });
    const none = makeClassDir({ version: 2, mount }, own);
    assert.ok("reason" in none && /holds processes/.test(none.reason), JSON.stringify(none));
    assert.equal(existsSync(join(own, "baton-warmup")), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("cgroup mounts: a container's mount root and escaped paths", () => {
  const mounts = parseCgroupMounts(
    [
      "30 25 0:26 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu",
      "31 25 0:27 /docker/abc /sys/fs/cgroup/cpu\\040set rw,relatime - cgroup cgroup rw,cpuset",
      "32 25 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw",
      "40 25 0:30 / /proc rw - proc proc rw",
    ].join("\n"),
  );
  assert.deepEqual(
    mounts.map((m) => [m.point, m.root, m.type]),
    [
      ["/sys/fs/cgroup/cpu", "/", "cgroup"],
      ["/sys/fs/cgroup/cpu set", "/docker/abc", "cgroup"],
      ["/sys/fs/cgroup/unified", "/", "cgroup2"],
    ],
  );
  const [plain, container] = mounts;
  assert.ok(plain !== undefined && container !== undefined);
  assert.equal(cgroupDirectory(plain, "/user.slice"), "/sys/fs/cgroup/cpu/user.slice");
  assert.equal(cgroupDirectory(container, "/docker/abc/web"), "/sys/fs/cgroup/cpu set/web");
  assert.equal(cgroupDirectory(container, "/docker/abc"), "/sys/fs/cgroup/cpu set");
  assert.equal(cgroupDirectory(container, "/docker/abcd"), undefined, "another part of the hierarchy");
});
