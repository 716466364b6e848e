// End to end through the real CLI and the real server: `baton server` (control plane, which starts
// the router as its own process) and `baton deploy` / `rollback` / `ps` / `status` / `releases`
// as child processes, all on one fresh --home, under continuous load and with one WebSocket open
// the whole time. The app is test/fixtures/apps/web, copied per variant (VERSION and
// behaviour.json written by the test).
import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { waitFor } from "../src/core/wait.js";
import { LoadRun, type Sample, summarize, type WindowStats } from "../src/load/load.js";
import { openIdleCpuClass } from "../src/supervisor/cpu-class.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  type CliResult,
  children,
  type DeployJson,
  explained,
  type InstanceJson,
  killGroup,
  note,
  parseJson,
  cli as runCli,
  type ServerProc,
  startServer as startBatonServer,
} from "./e2e-harness.js";
import { cleanup, http, tmpHome } from "./helpers.js";

/** The fixture is plain JS and not compiled, so it is read from the source tree. */
const FIXTURE = fileURLToPath(new URL("../../test/fixtures/apps/web", import.meta.url));
const APP = "shop";
const HOST = `${APP}.localhost`;
/** Bounds for CLI commands: a deploy is a few seconds here; a stuck one must not hang the suite. */
const DEPLOY_TIMEOUT_MS = 60_000;
const COMMAND_TIMEOUT_MS = 20_000;

// ---- what the CLI prints (docs/cli.md) ----

interface StatusJson {
  app: string;
  domains: string[];
  currentVersion: number | null;
  instances: InstanceJson[];
  deploy: ({ id: number; status: string; phase?: string; version?: number | null } & Record<string, unknown>) | null;
  lastDeploy: { id: number; status: string; version: number | null; error?: { code: string } | null } | null;
}

interface ReleaseJson {
  version: number;
  status: string;
  source: string;
  current: boolean;
}

/** A list the CLI prints either bare or wrapped in an object ({ instances: [...] }). */
function listOf<T>(value: unknown, key: string): T[] {
  if (Array.isArray(value)) return value as T[];
  const inner = (value as Record<string, unknown> | null)?.[key];
  assert.ok(Array.isArray(inner), `expected an array or { ${key}: [...] }, got ${JSON.stringify(value)}`);
  return inner as T[];
}

// ---- processes ----

/** Alive and not a zombie (an instance killed after its parent died waits for init to reap it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

// ---- the app, in variants ----

interface Behaviour {
  bootDelayMs?: number;
  neverReady?: boolean;
  crashAfterReadyMs?: number;
  smoke500Path?: string;
  ignoreSigterm?: boolean;
}

interface Variant {
  /** What GET / answers as `version` (the VERSION file). */
  label: string;
  behaviour?: Behaviour;
  /** Merged into app.json's `baton` section. */
  baton?: Record<string, unknown>;
  /** Replaces the Procfile. */
  procfile?: string;
}

// ---- load that runs for the whole file ----

/** One LoadRun's samples on the wall clock, so windows can be marked with Date.now(). */
class Load {
  private readonly runs: Array<{ run: LoadRun; epoch: number }> = [];

  constructor(port: number) {
    const common = { port, hostHeader: HOST, maxDurationMs: 170_000, maxRequests: 1_000_000, requestTimeoutMs: 20_000 };
    const body = JSON.stringify({ order: 42, items: Array.from({ length: 64 }, (_, i) => `item-${i}`) });
    // Quick requests back to back, and slow ones that are in flight at every switch and drain.
    const quick = new LoadRun({
      ...common,
      connections: 3,
      requests: [
        { path: "/" },
        { method: "POST", path: "/echo", body, headers: { "content-type": "application/json" } },
      ],
    });
    const slow = new LoadRun({ ...common, connections: 2, requests: [{ path: "/slow?ms=2000" }] });
    for (const run of [quick, slow]) this.runs.push({ run: run.start(), epoch: Date.now() - run.now() });
  }

  private samples(fromMs: number, toMs: number): Sample[] {
    return this.runs.flatMap(({ run, epoch }) =>
      run.samples.filter((s) => s.startMs + epoch >= fromMs && s.startMs + epoch < toMs),
    );
  }

  /** Requests that started in [fromMs, toMs) on the wall clock. */
  window(fromMs: number, toMs = Date.now()): WindowStats {
    return summarize(this.samples(fromMs, toMs), toMs - fromMs);
  }

  /** Completed requests, counted to wait for load to have passed over some event. */
  count(): number {
    return this.runs.reduce((sum, { run }) => sum + run.samples.length, 0);
  }

  async stop(): Promise<void> {
    await Promise.all(this.runs.map(({ run }) => run.stop()));
  }
}

/**
 * One WebSocket kept open through the router for the whole file. A drain may close it, but only
 * with 1001 (going away); it then reconnects, to the new release. Anything else is recorded.
 */
class KeptSocket {
  readonly closes: Array<{ code: number; at: number }> = [];
  readonly problems: string[] = [];
  readonly greetings: string[] = [];
  private ws: WebSocket | undefined;
  private stopped = false;

  constructor(private readonly port: number) {}

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Connect and prove both directions work (greeting in, echo back). */
  async connect(): Promise<void> {
    const ws = new WebSocket(`ws://127.0.0.1:${this.port}/ws`, { headers: { host: HOST } });
    this.ws = ws;
    const greeting = new Promise<string>((resolve, reject) => {
      ws.once("message", (data) => resolve(String(data)));
      ws.once("error", reject);
      ws.once("close", (code) => reject(new Error(`closed with ${code} before the greeting`)));
    });
    ws.on("error", (error) => this.problems.push(`error: ${error.message}`));
    ws.on("close", (code) => {
      this.closes.push({ code, at: Date.now() });
      note(`websocket closed with ${code}`);
      if (this.stopped) return;
      if (code !== 1001) {
        this.problems.push(`closed with ${code}`);
        return;
      }
      this.connect().catch((error: Error) => this.problems.push(`reconnect failed: ${error.message}`));
    });
    const hello = await greeting;
    this.greetings.push(hello);
    const echoed = new Promise<string>((resolve) => ws.once("message", (data) => resolve(String(data))));
    ws.send("ping");
    assert.equal(await echoed, "ping");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const ws = this.ws;
    if (ws === undefined || ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => ws.once("close", resolve));
    ws.close(1000);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    ws.terminate();
  }
}

describe("deploy end to end: the real CLI and server under continuous load", () => {
  const home = tmpHome();
  const work = tmpHome();
  const pidDir = join(work, "pids");
  let port = 0;
  let server: ServerProc | undefined;
  let routerPid: number | undefined;
  let load: Load | undefined;
  let socket: KeptSocket | undefined;
  /** [start, end] of every deploy or restart that may drain the serving release. */
  const drainWindows: Array<[number, number]> = [];
  let serial = 0;

  const baton = (args: string[], timeoutMs = COMMAND_TIMEOUT_MS) => runCli(home, args, timeoutMs);

  /** A fresh copy of the fixture with its VERSION, behaviour.json, app.json and Procfile. */
  const variant = (v: Variant): string => {
    const dir = join(work, `app-${++serial}-${v.label}`);
    cpSync(FIXTURE, dir, { recursive: true });
    writeFileSync(join(dir, "VERSION"), `${v.label}\n`);
    writeFileSync(join(dir, "behaviour.json"), JSON.stringify({ ...v.behaviour, pidDir }));
    const appJson = JSON.parse(readFileSync(join(dir, "app.json"), "utf8")) as { baton?: Record<string, unknown> };
    appJson.baton = { ...appJson.baton, ...v.baton };
    writeFileSync(join(dir, "app.json"), JSON.stringify(appJson, null, 2));
    if (v.procfile !== undefined) writeFileSync(join(dir, "Procfile"), v.procfile);
    return dir;
  };

  /** Every process the app ever started with this label (from the fixture's pid files). */
  const pidsOf = (label: string): number[] =>
    existsSync(pidDir)
      ? readdirSync(pidDir)
          .map((f) => JSON.parse(readFileSync(join(pidDir, f), "utf8")) as { pid: number; version: string })
          .filter((p) => p.version === label)
          .map((p) => p.pid)
      : [];
  const allPids = (): number[] => (existsSync(pidDir) ? readdirSync(pidDir).map(Number) : []);

  const startServer = async (): Promise<void> => {
    server = await startBatonServer(home, port);
    assert.equal(server.router.port, port, "the router listens on the server's --port");
    routerPid = server.router.pid;
  };

  const killServer = async (): Promise<void> => {
    assert.ok(server !== undefined);
    server.proc.kill("SIGKILL");
    await server.exited;
    server = undefined;
  };

  const deploy = async (dir: string): Promise<{ result: CliResult; json: DeployJson }> => {
    const start = Date.now();
    const result = await baton(["deploy", dir, "--app", APP, "--json"], DEPLOY_TIMEOUT_MS);
    drainWindows.push([start, Date.now()]);
    return { result, json: parseJson(result) as DeployJson };
  };

  const rollback = async (): Promise<{ result: CliResult; json: DeployJson }> => {
    const start = Date.now();
    const result = await baton(["rollback", "--app", APP, "--json"], DEPLOY_TIMEOUT_MS);
    drainWindows.push([start, Date.now()]);
    return { result, json: parseJson(result) as DeployJson };
  };

  const status = async (): Promise<StatusJson> => {
    const result = await baton(["status", "--app", APP, "--json"]);
    assert.equal(result.code, 0, `baton status failed: ${result.stderr}`);
    return parseJson(result) as StatusJson;
  };

  const ps = async (): Promise<InstanceJson[]> => {
    const result = await baton(["ps", "--app", APP, "--json"]);
    assert.equal(result.code, 0, `baton ps failed: ${result.stderr}`);
    return listOf<InstanceJson>(parseJson(result), "instances");
  };

  const releases = async (): Promise<ReleaseJson[]> => {
    const result = await baton(["releases", "--app", APP, "--json"]);
    assert.equal(result.code, 0, `baton releases failed: ${result.stderr}`);
    return listOf<ReleaseJson>(parseJson(result), "releases");
  };

  /** What users get from GET / through the router now (several requests, both instances). */
  const servedVersions = async (): Promise<Set<string>> => {
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const reply = await http(port, "/", { headers: { host: HOST } });
      assert.equal(reply.status, 200, reply.body);
      seen.add((JSON.parse(reply.body) as { version: string }).version);
    }
    return seen;
  };

  const assertSucceeded = (d: { result: CliResult; json: DeployJson }, what: string): void => {
    assert.equal(d.result.code, 0, `${what}: exit ${d.result.code}\n${d.result.stderr}`);
    assert.equal(d.json.status, "succeeded", `${what}: ${JSON.stringify(d.json.error)}`);
    assert.equal(d.json.error, null);
    assert.equal(d.json.failedRequests, 0, `${what}: the router counted failed requests`);
    assert.ok(d.json.durationMs > 0);
    const names = d.json.steps.map((s) => s.name);
    for (const name of ["stage", "boot", "switch", "drain", "stop"])
      assert.ok(names.includes(name), `${what}: no ${name} step`);
    for (const step of d.json.steps) assert.notEqual(step.status, "failed", `${what}: step ${step.name} failed`);
  };

  /** The running web instances: exactly `quantity` of `version`, all alive, no other version running. */
  const assertServing = async (version: number, quantity = 2): Promise<InstanceJson[]> => {
    const instances = await ps();
    const running = instances.filter((i) => alive(i.pid) || ["running", "starting", "stopping"].includes(i.state));
    assert.deepEqual(
      running.map((i) => i.version),
      Array(quantity).fill(version),
      `running instances: ${JSON.stringify(instances)}`,
    );
    for (const i of running) {
      assert.equal(i.type, "web");
      assert.equal(i.state, "running", `instance ${i.id}`);
      assert.ok(alive(i.pid), `instance ${i.id} (pid ${i.pid}) is listed as ${i.state} but is not alive`);
    }
    for (const i of instances.filter((x) => !running.includes(x)))
      assert.ok(!alive(i.pid), `instance ${i.id} is listed as ${i.state} but pid ${i.pid} runs`);
    return running;
  };

  const assertDead = (pids: number[], what: string): Promise<unknown> =>
    waitFor(`${what} (pids ${pids.join(", ")}) to be gone`, () => (pids.some(alive) ? undefined : true), {
      timeoutMs: 5_000,
    }).catch(() => assert.fail(`${what}: pids still alive: ${pids.filter(alive).join(", ")}`));

  /** The kept WebSocket was drained off the old release and reconnected to `label`'s. */
  const socketOn = (label: string): Promise<unknown> =>
    waitFor(
      `the WebSocket to reconnect to ${label}`,
      () => (socket?.open && socket.greetings.at(-1) === `hello ${label}` ? true : undefined),
      { timeoutMs: 5_000 },
    );

  const assertNoFailures = (from: number, what: string): void => {
    assert.ok(load !== undefined);
    const stats = load.window(from);
    assert.ok(stats.requests > 20, `${what}: too little load to prove anything (${stats.requests} requests)`);
    assert.equal(
      stats.failed,
      0,
      `${what}: ${stats.failed} of ${stats.requests} failed: ${JSON.stringify(stats.failures)}`,
    );
  };

  before(async () => {
    port = await freePort();
    await startServer();
  });

  after(async () => {
    await socket?.stop();
    await load?.stop();
    if (server !== undefined || routerPid !== undefined) {
      const down = await baton(["shutdown"], 30_000);
      if (down.code !== 0) note(`shutdown failed: ${down.stderr}`);
    }
    // Whatever shutdown missed (or could not reach): instances, the router, servers, commands.
    for (const pid of allPids()) killGroup(pid);
    if (routerPid !== undefined) killGroup(routerPid);
    for (const child of children) child.kill("SIGKILL");
    await cleanup();
  });

  let current = 0;
  let currentLabel = "";

  test(
    "v1, v2, v3 and a rollback: each succeeds with zero failed requests, and ps/status/releases show it",
    explained(async () => {
      const v1 = await deploy(variant({ label: "v1" }));
      assertSucceeded(v1, "deploy v1");
      assert.equal(v1.json.app, APP);
      assert.equal(v1.json.kind, "deploy");
      assert.equal(v1.json.fromVersion, null);
      assert.ok(v1.json.version !== null);
      current = v1.json.version;
      currentLabel = "v1";
      assert.deepEqual([...(await servedVersions())], ["v1"]);

      // From here on, users are always there.
      load = new Load(port);
      socket = new KeptSocket(port);
      await socket.connect();
      assert.equal(socket.greetings[0], "hello v1");
      const from = Date.now();
      await waitFor("load to flow", () => (load !== undefined && load.count() > 50 ? true : undefined), {
        timeoutMs: 10_000,
      });

      for (const label of ["v2", "v3"]) {
        const oldPids = pidsOf(currentLabel);
        const d = await deploy(variant({ label }));
        assertSucceeded(d, `deploy ${label}`);
        assert.equal(d.json.fromVersion, current);
        assert.ok(d.json.version !== null && d.json.version > current);
        current = d.json.version;
        currentLabel = label;
        assert.deepEqual([...(await servedVersions())], [label]);
        await assertDead(oldPids, `the instances of the release before ${label}`);
        await socketOn(label);
      }
      const v3Pids = pidsOf("v3");

      const back = await rollback();
      assertSucceeded(back, "rollback");
      assert.equal(back.json.kind, "rollback");
      assert.equal(back.json.fromVersion, current);
      assert.ok(back.json.version !== null);
      // Back on v2's code, whether the rollback is a new release (Heroku's way) or v2 itself.
      assert.deepEqual([...(await servedVersions())], ["v2"]);
      await assertDead(v3Pids, "the v3 instances after the rollback");
      await socketOn("v2");
      assert.deepEqual(socket.greetings, ["hello v1", "hello v2", "hello v3", "hello v2"]);
      current = back.json.version;
      currentLabel = "v2";

      const st = await status();
      assert.equal(st.app, APP);
      assert.deepEqual(st.domains, [HOST]);
      assert.equal(st.currentVersion, current);
      assert.equal(st.deploy, null, "no deploy in progress");
      assert.equal(st.lastDeploy?.id, back.json.id);
      assert.equal(st.lastDeploy?.status, "succeeded");
      assert.equal(st.lastDeploy?.version, current);
      const running = await assertServing(current);
      assert.deepEqual(
        st.instances
          .filter((i) => i.state === "running")
          .map((i) => i.pid)
          .sort(),
        running.map((i) => i.pid).sort(),
      );
      for (const pid of running.map((i) => i.pid)) assert.ok(pidsOf("v2").includes(pid), `pid ${pid} is not v2 code`);

      const list = await releases();
      const versions = list.map((r) => r.version);
      for (const v of [v1.json.version, current]) assert.ok(versions.includes(v), `release v${v} missing: ${versions}`);
      assert.ok(versions.length >= 3, `releases: ${JSON.stringify(list)}`);
      for (const r of list) assert.notEqual(r.status, "pending", `release v${r.version} still pending`);
      assert.deepEqual(
        list.filter((r) => r.current).map((r) => r.version),
        [current],
        "exactly the current release is marked current",
      );

      assertNoFailures(from, "load during v2, v3 and the rollback");
      assert.ok(socket.open, "the WebSocket is open (reconnected after each drain)");
      assert.deepEqual(socket.problems, []);
      for (const close of socket.closes) assert.equal(close.code, 1001);
    }),
  );

  test(
    "deploys that fail cleanly leave the old release serving, and nothing of the failed one running",
    explained(async () => {
      assert.ok(current > 0, "needs the release of the first test");
      const from = Date.now();
      const failures: Array<{ label: string; variant: Variant; step: string[]; code: string }> = [
        {
          label: "config-invalid",
          variant: { label: "config-invalid", baton: { bootTimeoutMs: 5 } },
          step: ["stage"],
          code: "BATON_CONFIG_INVALID",
        },
        {
          label: "build-fails",
          variant: { label: "build-fails", baton: { build: "exit 3" } },
          step: ["build"],
          code: "BATON_BUILD_FAILED",
        },
        {
          label: "release-fails",
          variant: {
            label: "release-fails",
            procfile: "web: node server.js\nrelease: sh -c 'echo migrating; exit 4'\n",
          },
          step: ["release"],
          code: "BATON_RELEASE_PHASE_FAILED",
        },
        {
          label: "never-ready",
          variant: { label: "never-ready", behaviour: { neverReady: true }, baton: { bootTimeoutMs: 2_000 } },
          step: ["boot"],
          code: "BATON_BOOT_TIMEOUT",
        },
        {
          label: "crash-after-ready",
          variant: {
            label: "crash-after-ready",
            behaviour: { crashAfterReadyMs: 1_000 },
            // A warm-up that outlasts the crash timer, so the crash falls after readiness.
            baton: { warmup: { paths: ["/slow?ms=100"], count: 60, concurrency: 2 } },
          },
          step: ["warmup", "smoke", "boot"],
          code: "BATON_INSTANCE_CRASHED",
        },
        {
          label: "smoke-500",
          variant: {
            label: "smoke-500",
            behaviour: { smoke500Path: "/smoke" },
            baton: { smoke: [{ path: "/smoke" }] },
          },
          step: ["smoke"],
          code: "BATON_SMOKE_FAILED",
        },
      ];
      for (const { label, variant: v, step, code } of failures) {
        const closesBefore = socket?.closes.length ?? 0;
        const servingBefore = (await ps()).filter((i) => i.state === "running").map((i) => i.pid);
        const d = await deploy(variant(v));
        assert.equal(d.result.code, 1, `${label}: exit code ${d.result.code}`);
        assert.equal(d.json.status, "failed", `${label}: status ${d.json.status}`);
        assert.ok(d.json.error !== null, `${label}: no error`);
        assert.equal(d.json.error.code, code, `${label}: ${d.json.error.message}`);
        assert.ok(
          d.json.error.message.length > 0 && (d.json.error.hint ?? "").length > 0,
          `${label}: no message or hint`,
        );
        const failedStep = d.json.steps.find((s) => s.status === "failed");
        assert.ok(
          failedStep !== undefined && step.includes(failedStep.name),
          `${label}: expected the ${step.join(" or ")} step to fail, steps: ${JSON.stringify(d.json.steps)}`,
        );
        assert.ok(
          !d.json.steps.some((s) => s.name === "switch" && s.status === "succeeded"),
          `${label}: traffic moved`,
        );
        // The old release still serves, on the same processes, and nothing of the failed one runs.
        assert.deepEqual([...(await servedVersions())], [currentLabel], `${label}: users see another release`);
        const st = await status();
        assert.equal(st.currentVersion, current, `${label}: the current release changed`);
        assert.equal(st.deploy, null);
        const running = await assertServing(current);
        assert.deepEqual(running.map((i) => i.pid).sort(), servingBefore.sort(), `${label}: serving instances changed`);
        if (d.json.version !== null) assert.ok(!(await ps()).some((i) => i.version === d.json.version && alive(i.pid)));
        await assertDead(pidsOf(label), `${label}: the failed release's instances`);
        if (!step.some((name) => ["boot", "warmup", "smoke"].includes(name)))
          assert.deepEqual(pidsOf(label), [], `${label}: instances were started before the ${step[0]} step passed`);
        assert.deepEqual(socket?.closes.slice(closesBefore), [], `${label}: the WebSocket was closed`);
        const rel = (await releases()).find((r) => r.version === d.json.version);
        if (rel !== undefined) assert.equal(rel.status, "failed", `${label}: release status ${rel.status}`);
      }

      // A release that ignores SIGTERM deploys fine; replacing it kills it after the stop timeout.
      const stubborn = await deploy(
        variant({ label: "stubborn", behaviour: { ignoreSigterm: true }, baton: { stopTimeoutMs: 1_500 } }),
      );
      assertSucceeded(stubborn, "deploy of a release that ignores SIGTERM");
      current = stubborn.json.version as number;
      currentLabel = "stubborn";
      const stubbornPids = pidsOf("stubborn");
      assert.equal(stubbornPids.length, 2);
      const next = await deploy(
        variant({
          label: "after-stubborn",
          baton: { stopTimeoutMs: 1_500, warmup: { paths: ["/"], count: 20, concurrency: 2 } },
        }),
      );
      assertSucceeded(next, "deploy replacing a release that ignores SIGTERM");
      // Half of each instance's warm-up went through the router, to the new instances only.
      const warmup = next.json.steps.find((s) => s.name === "warmup")?.details as
        | {
            requests: number;
            failed: number;
            throughRouter?: { requests: number; failed: number };
            cpu?: string;
            processes?: number;
          }
        | undefined;
      assert.deepEqual(
        [warmup?.requests, warmup?.failed, warmup?.throughRouter?.requests, warmup?.throughRouter?.failed],
        [40, 0, 20, 0],
        `warm-up step: ${JSON.stringify(warmup)}`,
      );
      // They warmed up in the idle CPU class where this host has one (CI: root), and serve outside it.
      const idleHere = openIdleCpuClass().ok;
      assert.equal(warmup?.cpu, idleHere ? "idle" : "normal", `warm-up step: ${JSON.stringify(warmup)}`);
      if (idleHere) assert.equal(warmup?.processes, 2, `both instances entered: ${JSON.stringify(warmup)}`);
      for (const pid of pidsOf("after-stubborn").filter((p) => existsSync(`/proc/${p}`)))
        assert.doesNotMatch(readFileSync(`/proc/${pid}/cgroup`, "utf8"), /baton-warmup/, `instance ${pid}'s cgroups`);
      current = next.json.version as number;
      currentLabel = "after-stubborn";
      const stop = next.json.steps.find((s) => s.name === "stop");
      assert.ok(stop !== undefined && stop.durationMs >= 1_000, `stop step: ${JSON.stringify(stop)}`);
      assert.equal(
        (stop.details.killed as unknown[] | undefined)?.length,
        2,
        "both were killed after the stop timeout",
      );
      await assertDead(stubbornPids, "the instances that ignored SIGTERM");
      assert.deepEqual([...(await servedVersions())], ["after-stubborn"]);
      await assertServing(current);

      assertNoFailures(from, "load during the failed deploys");
      const unresolved = (await releases()).filter((r) => r.status === "pending");
      assert.deepEqual(
        unresolved.map((r) => `v${r.version} ${r.source}`),
        [],
        "releases of finished deploys are still pending",
      );
      assert.ok(socket?.open, "the WebSocket is open");
      assert.deepEqual(socket?.problems, []);
      for (const close of socket?.closes ?? []) assert.equal(close.code, 1001);
    }),
  );

  /**
   * Start a deploy of `label`, SIGKILL the server once status shows it in `phase` (and, for boot,
   * once both new instances exist), restart the server and wait until the deploy is resolved.
   */
  const killMidDeploy = async (label: string, phase: string, behaviour: Behaviour = {}) => {
    const killAt = Date.now();
    const fromPids = (await assertServing(current)).map((i) => i.pid).sort();
    // Two long requests on the old release: they are in flight through the whole deploy, keep a
    // drain open long enough to be seen, and must still be answered whatever happens to the server.
    const held = [1, 2].map(() => http(port, "/slow?ms=6000", { headers: { host: HOST }, timeoutMs: 30_000 }));
    // Not deploy(): the command gets no JSON back when its server dies under it.
    const pending = baton(["deploy", variant({ label, behaviour }), "--app", APP, "--json"], DEPLOY_TIMEOUT_MS);
    const seen = await waitFor(
      `the deploy of ${label} to be in its ${phase} step`,
      async () => {
        if (phase === "boot" && pidsOf(label).length < 2) return undefined;
        const st = await status();
        return st.deploy?.status === "running" && st.deploy.phase === phase ? st : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    const newPids = pidsOf(label);
    await killServer();
    const cut = await pending;
    assert.equal(cut.code, 1, "a deploy whose server died mid-way reports a failure");
    assert.match(cut.stderr, /BATON_[A-Z_]+/);
    await startServer();
    const resolved = await waitFor(
      `the interrupted deploy of ${label} to be resolved`,
      async () => {
        const st = await status();
        return st.deploy === null && st.lastDeploy?.id === seen.deploy?.id ? st : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    for (const reply of await Promise.all(held)) {
      assert.equal(reply.status, 200, `a request in flight across the kill: ${reply.body}`);
      assert.equal(reply.body, `slow ${currentLabel}\n`);
    }
    drainWindows.push([killAt, Date.now()]);
    return { resolved, deployId: seen.deploy?.id, fromPids, newPids };
  };

  test(
    "SIGKILL of the server, idle and mid-deploy: no failed request, instances re-adopted, the deploy resolved",
    explained(async () => {
      assert.ok(current > 0 && load !== undefined, "needs the release of the first test");
      const from = Date.now();

      // Idle: the router and the instances do not need the server. Keep it dead until a whole
      // 2 s request has started and finished without it.
      const before = (await assertServing(current)).map((i) => i.pid).sort();
      const killedAt = Date.now();
      await killServer();
      await waitFor(
        "a slow request to start and finish with the server dead",
        () => (load !== undefined && load.window(killedAt).maxMs >= 1_900 ? true : undefined),
        { timeoutMs: 20_000 },
      );
      assertNoFailures(killedAt, "load while the server was dead");
      await startServer();
      const adopted = (await assertServing(current)).map((i) => i.pid).sort();
      assert.deepEqual(adopted, before, "the restarted server re-adopted the same processes");
      assert.deepEqual([...(await servedVersions())], [currentLabel]);

      // During boot (the new instances take 2 s to listen): no user saw the new release, so it
      // is rolled back and its instances, orphaned by the dead server, are stopped.
      const boot = await killMidDeploy("killed-in-boot", "boot", { bootDelayMs: 2_000 });
      assert.equal(boot.resolved.lastDeploy?.status, "failed", JSON.stringify(boot.resolved.lastDeploy));
      assert.equal(boot.resolved.lastDeploy?.error?.code, "BATON_DEPLOY_INTERRUPTED");
      assert.equal(boot.resolved.currentVersion, current, "the old release is still current");
      assert.deepEqual((await assertServing(current)).map((i) => i.pid).sort(), boot.fromPids);
      assert.equal(boot.newPids.length, 2);
      await assertDead(boot.newPids, "the instances of the deploy killed in boot");
      assert.deepEqual([...(await servedVersions())], [currentLabel]);

      // During drain (after the switch; the 2 s requests keep the old instances busy): users
      // already get the new release, so the deploy is completed and the old instances stopped.
      const drain = await killMidDeploy("killed-in-drain", "drain");
      assert.equal(drain.resolved.lastDeploy?.status, "succeeded", JSON.stringify(drain.resolved.lastDeploy));
      assert.ok(drain.resolved.currentVersion !== null && drain.resolved.currentVersion > current);
      current = drain.resolved.currentVersion;
      currentLabel = "killed-in-drain";
      const running = (await assertServing(current)).map((i) => i.pid).sort();
      assert.deepEqual(running, [...drain.newPids].sort(), "the new release runs on the instances the deploy started");
      await assertDead(drain.fromPids, "the old instances after the completed deploy");
      assert.deepEqual([...(await servedVersions())], ["killed-in-drain"]);

      assertNoFailures(from, "load across the server kills");
      assert.deepEqual(socket?.problems, []);
    }),
  );

  test(
    "over the whole run: zero failed requests, and the WebSocket closed only by drains, with 1001",
    explained(async () => {
      assert.ok(load !== undefined && socket !== undefined, "needs the load of the first test");
      const quick = load.count();
      await load.stop();
      assert.ok(load.count() >= quick);
      const total = load.window(0, Number.POSITIVE_INFINITY);
      load = undefined;
      note(`total load: ${JSON.stringify(total)}`);
      assert.ok(total.requests > 500, `too little load to prove anything: ${total.requests}`);
      assert.equal(total.failed, 0, `${total.failed} of ${total.requests} failed: ${JSON.stringify(total.failures)}`);
      assert.ok(socket.open, "the WebSocket is open at the end");
      assert.deepEqual(socket.problems, []);
      for (const close of socket.closes) {
        assert.equal(close.code, 1001);
        assert.ok(
          drainWindows.some(([a, b]) => close.at >= a && close.at <= b + 1_000),
          `the WebSocket was closed outside any deploy, at ${new Date(close.at).toISOString()}`,
        );
      }
      assert.ok(socket.greetings.length >= 2, "the WebSocket never moved to a new release");
    }),
  );
  test(
    "`baton shutdown` stops every instance, the router and the server",
    explained(async () => {
      assert.ok(server !== undefined && routerPid !== undefined, "needs the server of the first tests");
      const instances = (await ps()).map((i) => i.pid);
      assert.equal(instances.length, 2);
      const down = await baton(["shutdown"], 30_000);
      assert.equal(down.code, 0, down.stderr);
      const exited = await Promise.race([
        server.exited.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 15_000).unref()),
      ]);
      assert.ok(exited, "the server process did not exit after `baton shutdown`");
      server = undefined;
      await assertDead([...instances, routerPid], "the instances and the router after shutdown");
      await assertDead(allPids(), "every instance the app ever started");
      routerPid = undefined;
      await assert.rejects(http(port, "/", { headers: { host: HOST }, timeoutMs: 2_000 }), "the router still answers");
    }),
  );
});
