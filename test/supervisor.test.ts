import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFileSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { after, afterEach, before, describe, test } from "node:test";
import { delay, settledWithin, waitFor } from "../src/core/wait.js";
import { Instance, type InstanceSpec } from "../src/supervisor/instance.js";
import { followFile, readLastLines, rotateIfLarger } from "../src/supervisor/logs.js";
import { freePort } from "../src/supervisor/ports.js";
import { isSameProcess, parseProcStat, processStartTime } from "../src/supervisor/process-info.js";
import { fetchBody, waitChecks } from "../src/supervisor/readiness.js";
import { type CrashInfo, CrashKeeper, type RestartPolicy } from "../src/supervisor/restart.js";
import { smokeTest } from "../src/supervisor/smoke.js";
import { cleanup, tmpHome } from "./helpers.js";

/**
 * The instance every test runs. Its env picks the behaviour: PLAN ("0,0,400": how long run 1, 2,
 * 3 ... live before exiting with 3, counted in the COUNTER file; later runs serve), IGNORE_TERM,
 * FORK_PID_FILE (fork a child that ignores SIGTERM, so only a SIGKILL to the group ends it).
 */
const APP = `
const fs = require("node:fs");
const http = require("node:http");
const { spawn } = require("node:child_process");
const env = process.env;
let crashIn;
if (env.PLAN) {
  const run = fs.existsSync(env.COUNTER) ? Number(fs.readFileSync(env.COUNTER, "utf8")) : 0;
  fs.writeFileSync(env.COUNTER, String(run + 1));
  crashIn = env.PLAN.split(",").map(Number)[run];
}
if (crashIn !== undefined) {
  setTimeout(() => process.exit(3), crashIn);
} else {
  if (env.IGNORE_TERM) process.on("SIGTERM", () => console.log("ignoring SIGTERM"));
  if (env.FORK_PID_FILE) {
    const child = spawn(process.execPath, ["-e", "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], {
      stdio: "ignore",
    });
    fs.writeFileSync(env.FORK_PID_FILE, String(child.pid));
  }
  http
    .createServer((req, res) => {
      if (req.url === "/health") return res.end("ok");
      if (req.url === "/stall") return res.writeHead(200).write("partial");
      res.statusCode = 404;
      res.end("not found");
    })
    .listen(Number(env.PORT), "127.0.0.1", () => console.log("listening " + env.PORT));
}
`;

const INSTANCE_MODULE = new URL("../src/supervisor/instance.js", import.meta.url).href;

/** Every process a test starts, by pid and start time, so afterEach can kill it whatever failed. */
const started: Array<{ pid: number; startTime: string }> = [];
/** Keepers stopped first, or one would restart what afterEach kills. */
const keepers: CrashKeeper[] = [];
let dir: string;
let app: string;
let serial = 0;

const sh = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

async function specFor(env: Record<string, string> = {}, command?: string): Promise<InstanceSpec> {
  return {
    type: "web",
    release: "v1",
    command: command ?? `${sh(process.execPath)} ${sh(app)}`,
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    port: await freePort(),
    logPath: join(dir, `web.${++serial}.log`),
  };
}

function track(pid: number, startTime = processStartTime(pid) ?? ""): void {
  started.push({ pid, startTime });
}

function start(spec: InstanceSpec): Instance {
  const instance = new Instance(spec);
  track(instance.pid, instance.startTime);
  return instance;
}

function ready(instance: Instance): Promise<unknown> {
  return waitChecks(
    instance.spec.port,
    [{ path: "/health", timeoutMs: 1_000, initialDelayMs: 0, content: undefined, port: undefined }],
    { passes: 1, intervalMs: 20, bootTimeoutMs: 15_000, exited: instance.exited },
  );
}

/** The pid a FORK_PID_FILE instance wrote, once it is ready. */
function forkedChild(file: string): number {
  const pid = Number(readFileSync(file, "utf8"));
  track(pid);
  return pid;
}

function gone(pid: number, what: string): Promise<true> {
  return waitFor(what, () => (processStartTime(pid) === undefined ? true : undefined), {
    timeoutMs: 5_000,
    intervalMs: 10,
  });
}

/** Callback arguments collected in order, with a way to await the nth one. */
function recorder<T>() {
  const items: T[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  return {
    items,
    push(item: T): void {
      items.push(item);
      for (const w of waiters) if (items.length >= w.n) w.resolve();
    },
    async until(n: number, timeoutMs = 15_000): Promise<T[]> {
      if (items.length < n) {
        const reached = new Promise<void>((resolve) => waiters.push({ n, resolve }));
        assert.ok(await settledWithin(reached, timeoutMs), `only ${items.length} of ${n} within ${timeoutMs} ms`);
      }
      return items.slice(0, n);
    },
  };
}

describe("supervisor", () => {
  before(() => {
    dir = tmpHome();
    app = join(dir, "app.cjs");
    writeFileSync(app, APP);
  });

  afterEach(() => {
    for (const keeper of keepers.splice(0)) keeper.stop();
    for (const { pid, startTime } of started.splice(0)) {
      if (!isSameProcess(pid, startTime)) continue;
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, "SIGKILL");
        } catch {
          // Not a group leader, or already gone.
        }
      }
    }
  });
  after(cleanup);

  test("/proc/<pid>/stat is parsed from the last ')', whatever the command's name holds", async () => {
    const tail = ["S", ...Array.from({ length: 18 }, (_, i) => String(i + 1)), "987654", "0", "0"].join(" ");
    assert.deepEqual(parseProcStat(`42 (a) (b c)) ${tail}\n`), { state: "S", processGroup: 2, startTime: "987654" });
    assert.equal(parseProcStat("42 no parenthesis S 1"), undefined);
    assert.equal(parseProcStat("42 (short) S 1 2"), undefined);

    const strange = join(dir, "x) (y z");
    symlinkSync(process.execPath, strange);
    const instance = start(await specFor({}, `${sh(strange)} ${sh(app)}`));
    await ready(instance);
    assert.match(readFileSync(`/proc/${instance.pid}/stat`, "utf8"), /^\d+ \(x\) \(y z\) /);
    assert.match(instance.startTime, /^\d+$/);
    assert.equal(processStartTime(instance.pid), instance.startTime);
    // Started after this test process: a parse that miscounted fields would land on a small
    // number (num_threads, itrealvalue) instead.
    assert.ok(BigInt(instance.startTime) >= BigInt(processStartTime(process.pid) ?? "x"));
    assert.ok(isSameProcess(instance.pid, instance.startTime));
    assert.ok(!isSameProcess(instance.pid, `${instance.startTime}0`));
    await instance.stop(5_000);
    assert.equal(processStartTime(instance.pid), undefined);
  });

  test("an instance whose control plane exited is adopted by pid and start time; stop() ends its group", async () => {
    const childPidFile = join(dir, "adopted-child.pid");
    const spec = await specFor({ FORK_PID_FILE: childPidFile });
    // A separate, short-lived control plane spawns it and exits without stopping it.
    const controlPlane = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { Instance } = await import(process.env.INSTANCE_MODULE);
         const instance = new Instance(JSON.parse(process.env.SPEC));
         console.log(JSON.stringify({ pid: instance.pid, startTime: instance.startTime }));
         process.exit(0);`,
      ],
      { env: { ...process.env, INSTANCE_MODULE, SPEC: JSON.stringify(spec) }, stdio: ["ignore", "pipe", "inherit"] },
    );
    let output = "";
    controlPlane.stdout.on("data", (chunk: Buffer) => {
      output += String(chunk);
    });
    const exitCode = await new Promise((resolve) => controlPlane.once("exit", resolve));
    assert.equal(exitCode, 0);
    const { pid, startTime } = JSON.parse(output) as { pid: number; startTime: string };
    track(pid, startTime);

    const adopted = Instance.adopt(spec, pid, startTime);
    assert.ok(adopted !== undefined, "a running instance was not adopted");
    assert.equal(adopted.child, undefined);
    assert.equal(adopted.pid, pid);
    assert.equal(adopted.state, "running");
    await ready(adopted);
    assert.ok(adopted.alive());
    const child = forkedChild(childPidFile);
    assert.ok(processStartTime(child) !== undefined);

    assert.deepEqual(await adopted.stop(5_000), { killed: false });
    assert.deepEqual(await adopted.exited, { code: null, signal: null });
    assert.ok(!adopted.alive());
    assert.equal(processStartTime(pid), undefined);
    // The child ignored SIGTERM and outlived its parent; the SIGKILL to the group got it.
    await gone(child, "the adopted instance's child to be killed with its group");
  });

  test("a control plane stopping an adopted instance that ignores SIGTERM stays alive until it is gone", async () => {
    const spec = await specFor({ IGNORE_TERM: "1" });
    const instance = start(spec);
    await ready(instance);
    // A recovering server has nothing else that keeps it running (its API does not listen yet):
    // the stop alone must, or the process exits half-way through it.
    const controlPlane = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { Instance } = await import(process.env.INSTANCE_MODULE);
         const { pid, startTime } = JSON.parse(process.env.PROC);
         const adopted = Instance.adopt(JSON.parse(process.env.SPEC), pid, startTime);
         console.log(JSON.stringify(await adopted.stop(200)));`,
      ],
      {
        env: {
          ...process.env,
          INSTANCE_MODULE,
          SPEC: JSON.stringify(spec),
          PROC: JSON.stringify({ pid: instance.pid, startTime: instance.startTime }),
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let output = "";
    controlPlane.stdout.on("data", (chunk: Buffer) => {
      output += String(chunk);
    });
    const code = await new Promise((resolve) => controlPlane.once("exit", resolve));
    assert.equal(code, 0, "the control plane exited before its stop finished (13: its await never settled)");
    assert.deepEqual(JSON.parse(output || "null"), { killed: true }, "the stop never finished: the process exited");
    await gone(instance.pid, "the adopted instance, killed after its stop timeout");
  });

  test("adopt() refuses a wrong start time and a process that is gone", async () => {
    const spec = await specFor();
    const instance = start(spec);
    assert.equal(Instance.adopt(spec, instance.pid, `${instance.startTime}1`), undefined);
    assert.equal(Instance.adopt(spec, instance.pid, ""), undefined);
    assert.equal(Instance.adopt(spec, -1, instance.startTime), undefined);
    const twin = Instance.adopt(spec, instance.pid, instance.startTime);
    assert.ok(twin !== undefined);
    await instance.stop(5_000);
    assert.equal(Instance.adopt(spec, instance.pid, instance.startTime), undefined);
    // The adopted view has no exit event; its poll notices the process is gone.
    assert.ok(await settledWithin(twin.exited, 5_000), "the adopted view never saw the exit");
    assert.deepEqual(await twin.exited, { code: null, signal: null });
  });

  test("stop() kills an instance that ignores SIGTERM once the stop timeout has passed", async () => {
    const instance = start(await specFor({ IGNORE_TERM: "1" }));
    await ready(instance);
    const began = performance.now();
    assert.deepEqual(await instance.stop(300), { killed: true });
    assert.ok(performance.now() - began >= 290, "SIGKILL came before the stop timeout");
    assert.deepEqual(await instance.exited, { code: null, signal: "SIGKILL" });
    assert.ok((await readLastLines(instance.spec.logPath, 5)).includes("ignoring SIGTERM"));
    assert.deepEqual(await instance.stop(300), { killed: true }, "a second stop() gets the first one's result");
  });

  test("stop() also ends the children an instance forked, even ones that ignore SIGTERM", async () => {
    const childPidFile = join(dir, "child.pid");
    const instance = start(await specFor({ FORK_PID_FILE: childPidFile }));
    await ready(instance);
    const child = forkedChild(childPidFile);
    assert.ok(processStartTime(child) !== undefined);
    assert.deepEqual(await instance.stop(5_000), { killed: false });
    assert.deepEqual(await instance.exited, { code: null, signal: "SIGTERM" });
    await gone(child, "the forked child to be killed with its group");
  });

  describe("CrashKeeper", () => {
    const keep = (instance: Instance, policy: Partial<RestartPolicy>) => {
      const crashes = recorder<CrashInfo & { at: number }>();
      const restarts = recorder<{ instance: Instance; attempt: number; at: number }>();
      const loops = recorder<number>();
      const keeper = new CrashKeeper(instance, {
        policy,
        onCrash: (_crashed, info) => crashes.push({ ...info, at: performance.now() }),
        onRestart: (next, attempt) => {
          track(next.pid, next.startTime);
          restarts.push({ instance: next, attempt, at: performance.now() });
        },
        onCrashLoop: (_crashed, count) => loops.push(count),
      });
      keepers.push(keeper);
      return { keeper, crashes, restarts, loops };
    };

    test("restarts a crashed instance on the same port with exponential backoff, and reports a crash loop once", async () => {
      const spec = await specFor({ PLAN: "0,0,0,0,0,0", COUNTER: join(dir, "loop.count") });
      const { keeper, crashes, restarts, loops } = keep(start(spec), {
        initialBackoffMs: 10,
        maxBackoffMs: 300,
        stableAfterMs: 60_000,
        crashLoopCrashes: 5,
        crashLoopWindowMs: 60_000,
      });
      const done = await restarts.until(6);
      // 10, 20, 40, 80, then the fifth crash in the window is a loop: the longest backoff from then on.
      assert.deepEqual(
        crashes.items.map((c) => c.restartInMs),
        [10, 20, 40, 80, 300, 300],
      );
      assert.deepEqual(
        crashes.items.map((c) => [c.code, c.signal, c.crashes]),
        [1, 2, 3, 4, 5, 6].map((n) => [3, null, n]),
      );
      assert.deepEqual(
        done.map((r) => r.attempt),
        [1, 2, 3, 4, 5, 6],
      );
      done.forEach((restart, i) => {
        const crash = crashes.items[i];
        assert.ok(crash !== undefined && restart.at - crash.at >= crash.restartInMs - 2, `restart ${i + 1} came early`);
      });
      assert.deepEqual(loops.items, [5]);

      const last = keeper.instance;
      assert.equal(last, done[5]?.instance);
      assert.equal(last.spec.port, spec.port);
      await ready(last);
      assert.equal((await fetchBody(spec.port, "/health", 1_000)).status, 200);
      // A stop that was asked for is not a crash.
      await last.stop(5_000);
      assert.equal(keeper.state, "stopped");
      assert.equal(crashes.items.length, 6);
      assert.deepEqual(loops.items, [5]);
    });

    test("the backoff starts over once an instance has stayed up long enough", async () => {
      const spec = await specFor({ PLAN: "0,0,1200,0", COUNTER: join(dir, "reset.count") });
      const { keeper, crashes } = keep(start(spec), {
        initialBackoffMs: 10,
        maxBackoffMs: 1_000,
        stableAfterMs: 800,
        crashLoopCrashes: 5,
        crashLoopWindowMs: 60_000,
      });
      await crashes.until(4);
      assert.deepEqual(
        crashes.items.map((c) => [c.crashes, c.restartInMs]),
        [
          [1, 10],
          [2, 20],
          [1, 10],
          [2, 20],
        ],
      );
      await waitFor("the fifth run", () => (keeper.instance.alive() ? keeper.instance : undefined), {
        timeoutMs: 5_000,
      });
      keeper.stop();
      await keeper.instance.stop(5_000);
    });

    test("stop() cancels a pending restart and leaves the instance alone", async () => {
      const counter = join(dir, "cancel.count");
      const spec = await specFor({ PLAN: "0", COUNTER: counter });
      const { keeper, crashes, restarts } = keep(start(spec), { initialBackoffMs: 200 });
      await crashes.until(1);
      assert.equal(keeper.state, "waiting");
      keeper.stop();
      assert.equal(keeper.state, "stopped");
      // Nothing to await for a restart that must not happen: wait past its due time.
      await delay(500);
      assert.equal(restarts.items.length, 0);
      assert.equal(readFileSync(counter, "utf8"), "1");

      const running = start(await specFor());
      const idle = keep(running, {});
      idle.keeper.stop();
      await ready(running);
      assert.ok(running.alive(), "stopping the keeper stopped the instance");
      await running.stop(5_000);
      assert.equal(idle.crashes.items.length, 0);
    });
  });

  describe("logs", () => {
    test("readLastLines reads the tail of a large file, across chunks and multi-byte characters", async () => {
      const path = join(dir, "big.log");
      const lines = Array.from({ length: 100_000 }, (_, i) => `line ${i} ${"é😀".repeat(i % 7)}`);
      writeFileSync(path, `${lines.join("\n")}\n`);
      assert.deepEqual(await readLastLines(path, 3), lines.slice(-3));
      assert.deepEqual(await readLastLines(path, 5_000), lines.slice(-5_000));
      assert.deepEqual(await readLastLines(path, 0), []);
      // Bounded: only lines wholly inside the last 40 bytes.
      const bounded = await readLastLines(path, 10, 40);
      assert.ok(bounded.length >= 1 && bounded.length < 10);
      assert.deepEqual(bounded, lines.slice(-bounded.length));

      const small = join(dir, "small.log");
      writeFileSync(small, "one\r\ntwo\nthree (unterminated)");
      assert.deepEqual(await readLastLines(small, 10), ["one", "two", "three (unterminated)"]);
      assert.deepEqual(await readLastLines(small, 2), ["two", "three (unterminated)"]);
      assert.deepEqual(await readLastLines(join(dir, "missing.log"), 10), []);
    });

    test("followFile delivers complete new lines from the end, and starts over after a truncation", async () => {
      const path = join(dir, "follow.log");
      writeFileSync(path, "old 1\nold 2 is a longer line than what follows\n");
      const received = recorder<string>();
      const abort = new AbortController();
      const following = followFile(path, (lines) => lines.forEach(received.push), abort.signal, { intervalMs: 20 });
      try {
        appendFileSync(path, "a\nb");
        assert.deepEqual(await received.until(1), ["a"]);
        appendFileSync(path, " continued\nc\n");
        assert.deepEqual(await received.until(3), ["a", "b continued", "c"]);
        truncateSync(path, 0);
        appendFileSync(path, "after\n");
        assert.deepEqual(await received.until(4), ["a", "b continued", "c", "after"]);
      } finally {
        abort.abort();
      }
      assert.ok(await settledWithin(following, 2_000), "followFile did not end when aborted");
    });

    test("rotateIfLarger copies and truncates, and the running instance goes on writing at the new end", async () => {
      const spec = await specFor({}, `sh -c 'while :; do echo tick; sleep 0.02; done'`);
      writeFileSync(`${spec.logPath}.1`, "stale rotation\n");
      const instance = start(spec);
      await waitFor(
        "20 log lines",
        async () => ((await readLastLines(spec.logPath, 20)).length === 20 ? true : undefined),
        {
          timeoutMs: 5_000,
        },
      );
      assert.equal(await rotateIfLarger(spec.logPath, 1_000_000), false);
      assert.equal(await rotateIfLarger(join(dir, "missing.log"), 0), false);
      assert.equal(await rotateIfLarger(spec.logPath, 10), true);
      const rotated = readFileSync(`${spec.logPath}.1`, "utf8");
      assert.ok(!rotated.includes("stale"), "the old .1 was not replaced");
      assert.ok(rotated.split("\n").length > 20);
      await waitFor("a write after the rotation", () => (readFileSync(spec.logPath).length > 0 ? true : undefined), {
        timeoutMs: 5_000,
        intervalMs: 10,
      });
      await instance.stop(5_000);
      // Without O_APPEND the instance would have gone on at its old offset, leaving zeros before it.
      const after = readFileSync(spec.logPath, "utf8");
      assert.ok(!after.includes("\0"), "the log has a hole where the rotated content was");
      assert.match(after, /^(tick\n)+$/);
    });
  });

  test("smokeTest returns the checks an instance failed, a stalled answer as 0", async () => {
    const instance = start(await specFor());
    await ready(instance);
    const smoke = smokeTest(
      instance.spec.port,
      [
        { path: "/health", status: 200 },
        { path: "/missing", status: 404 },
        { path: "/health", status: 204 },
        { path: "/stall", status: 200 },
      ],
      500,
    );
    assert.ok(await settledWithin(smoke, 3_000), "a stalled answer outlived the timeout");
    assert.deepEqual(await smoke, [
      { path: "/health", expected: 204, got: 200 },
      { path: "/stall", expected: 200, got: 0 },
    ]);
    assert.deepEqual(await smokeTest(instance.spec.port, [], 500), []);
    await instance.stop(5_000);
    assert.deepEqual(await smokeTest(instance.spec.port, [{ path: "/", status: 200 }], 500), [
      { path: "/", expected: 200, got: 0 },
    ]);
  });
});
