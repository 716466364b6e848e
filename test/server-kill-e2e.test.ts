// The control plane killed (SIGKILL) at every step of a deploy, under load: stage, build, release
// phase, boot, warm-up, both sides of the switch, drain. One server home and one app for the whole
// file; each test deploys a release that is slow in its step (or arms a failpoint for the instant
// ones), kills the server while the deploy is in that step, restarts it, and checks what a user and
// an operator would: no request failed, the deploy was rolled back before the switch and completed
// after it, the store names the release the router serves, nothing of the abandoned release (nor a
// build or release command) still runs, and the next deploy goes through.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, type TestContext, test } from "node:test";
import { ApiClient } from "../src/api/client.js";
import type { Failpoint } from "../src/core/failpoint.js";
import { waitFor } from "../src/core/wait.js";
import { appPaths } from "../src/deploy/paths.js";
import { LoadRun, type Sample, summarize, type WindowStats } from "../src/load/load.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  cli,
  type DeployJson,
  explained,
  fixtureApp,
  type InstanceJson,
  killGroup,
  note,
  parseJson,
  type ServerProc,
  startServer,
  stopEverything,
} from "./e2e-harness.js";
import { cleanup, http, tmpHome } from "./helpers.js";

const APP = "shop";
const HOST = `${APP}.localhost`;
const DEPLOY_TIMEOUT_MS = 60_000;
const COMMAND_TIMEOUT_MS = 20_000;
/** A build or release command this slow is still running when the server is restarted after its kill. */
const SLOW_COMMAND_MS = 30_000;

interface StatusJson {
  currentVersion: number | null;
  deploy: { id: number; status: string; phase: string; version: number | null } | null;
  lastDeploy: { id: number; status: string; version: number | null; error: { code: string } | null } | null;
}

interface DeployRecordJson {
  id: number;
  status: string;
  version: number | null;
  error: { code: string; message: string } | null;
  details: Record<string, unknown>;
  steps: Array<{ name: string; status: string }>;
}

interface ReleaseJson {
  version: number;
  status: string;
}

/** What the fixture's step.js writes when a build or release command starts. */
interface StepMarker {
  step: string;
  version: string;
  pid: number;
  childPid: number;
}

/** Alive and not a zombie (a process killed after its parent died waits for init to reap it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function listOf<T>(value: unknown, key: string): T[] {
  if (Array.isArray(value)) return value as T[];
  const inner = (value as Record<string, unknown> | null)?.[key];
  assert.ok(Array.isArray(inner), `expected an array or { ${key}: [...] }, got ${JSON.stringify(value)}`);
  return inner as T[];
}

/** Quick GETs and POSTs with bodies back to back, and slow GETs in flight at every switch and drain. */
class Load {
  private readonly runs: Array<{ run: LoadRun; epoch: number }> = [];

  constructor(port: number) {
    const common = { port, hostHeader: HOST, maxDurationMs: 400_000, maxRequests: 2_000_000, requestTimeoutMs: 20_000 };
    const body = JSON.stringify({ order: 7, lines: Array.from({ length: 48 }, (_, i) => ({ sku: `sku-${i}`, n: i })) });
    const quick = new LoadRun({
      ...common,
      connections: 3,
      requests: [
        { path: "/" },
        { method: "POST", path: "/echo", body, headers: { "content-type": "application/json" } },
      ],
    });
    const slow = new LoadRun({ ...common, connections: 1, requests: [{ path: "/slow?ms=1000" }] });
    for (const run of [quick, slow]) this.runs.push({ run: run.start(), epoch: Date.now() - run.now() });
  }

  private samples(fromMs: number, toMs: number): Sample[] {
    return this.runs.flatMap(({ run, epoch }) =>
      run.samples.filter((s) => s.startMs + epoch >= fromMs && s.startMs + epoch < toMs),
    );
  }

  /** Requests that started in [fromMs, toMs) on the wall clock (finished ones only). */
  window(fromMs: number, toMs = Date.now()): WindowStats {
    return summarize(this.samples(fromMs, toMs), toMs - fromMs);
  }

  async stop(): Promise<void> {
    await Promise.all(this.runs.map(({ run }) => run.stop()));
  }
}

/** How a test makes its step long enough to be killed in, and what it waits for before killing. */
interface Injection {
  /** The step the deploy is in when the server dies. */
  step: string;
  /** fixtures/apps/web behaviours (bootDelayMs, buildMs, releaseMs ...) for the new release. */
  behaviour?: Record<string, unknown>;
  /** Merged into app.json's baton section. */
  baton?: Record<string, unknown>;
  /** The server kills itself there (BATON_FAILPOINT) instead of the test killing it from outside. */
  failpoint?: Failpoint;
  /** Two long requests on the old release, sent before the deploy, so its drain lasts. */
  holdDrain?: boolean;
  /** True once the deploy is far enough inside its step (the step's own processes exist). */
  ready?: (label: string) => boolean;
  /** Whether the switch had happened, hence how the restarted server must resolve the deploy. */
  expect: "rolled back" | "completed";
}

describe("the server SIGKILLed at every step of a deploy, under load", () => {
  const home = tmpHome();
  const work = tmpHome();
  const pidDir = join(work, "pids");
  const stepDir = join(work, "steps");
  let port = 0;
  let server: ServerProc | undefined;
  let load: Load | undefined;
  let serial = 0;
  /** Which label each version reports, to tell from an answer which release served it. */
  const labels = new Map<number, string>();
  let current = 0;
  let fileStart = 0;
  const routerPids = new Set<number>();

  const baton = (args: string[], timeoutMs = COMMAND_TIMEOUT_MS) => cli(home, args, timeoutMs);
  const api = () => ApiClient.local(home);

  /** A copy of the fixture whose build and release commands are step.js, quick unless told. */
  const variant = (label: string, behaviour: Record<string, unknown> = {}, batonJson = {}): string => {
    const dir = fixtureApp(
      join(work, `app-${++serial}-${label}`),
      label,
      { ...behaviour, pidDir, stepDir },
      { baton: { build: "node step.js build", ...batonJson } },
    );
    writeFileSync(join(dir, "Procfile"), "web: node server.js\nrelease: node step.js release\n");
    return dir;
  };

  const pidsOf = (label: string): number[] =>
    existsSync(pidDir)
      ? readdirSync(pidDir)
          .map((f) => JSON.parse(readFileSync(join(pidDir, f), "utf8")) as { pid: number; version: string })
          .filter((p) => p.version === label)
          .map((p) => p.pid)
      : [];
  const markers = (): StepMarker[] =>
    existsSync(stepDir)
      ? readdirSync(stepDir).map((f) => JSON.parse(readFileSync(join(stepDir, f), "utf8")) as StepMarker)
      : [];
  const markersOf = (label: string, step?: string): StepMarker[] =>
    markers().filter((m) => m.version === label && (step === undefined || m.step === step));

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

  /** Which labels answer GET / through the router now (several requests, so both instances). */
  const served = async (): Promise<string[]> => {
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const reply = await http(port, "/", { headers: { host: HOST } });
      assert.equal(reply.status, 200, reply.body);
      seen.add((JSON.parse(reply.body) as { version: string }).version);
    }
    return [...seen];
  };

  const deploy = async (dir: string): Promise<DeployJson> => {
    const result = await baton(["deploy", dir, "--app", APP, "--json"], DEPLOY_TIMEOUT_MS);
    const json = parseJson(result) as DeployJson;
    assert.equal(result.code, 0, `deploy of ${dir}: ${result.stderr}`);
    assert.equal(json.status, "succeeded", JSON.stringify(json.error));
    return json;
  };

  /** A normal deploy of `label`, which must succeed and serve. */
  const deployLive = async (label: string): Promise<void> => {
    const json = await deploy(variant(label));
    assert.ok(json.version !== null);
    current = json.version;
    labels.set(current, label);
    assert.deepEqual(await served(), [label]);
  };

  const restart = async (env?: NodeJS.ProcessEnv): Promise<void> => {
    server = await startServer(home, port, env);
    routerPids.add(server.router.pid);
    assert.equal(server.router.port, port, "the router listens on the server's --port");
  };

  const killServer = async (): Promise<void> => {
    assert.ok(server !== undefined);
    server.proc.kill("SIGKILL");
    await server.exited;
    server = undefined;
  };

  /** Exactly two running web instances, of the current release, all alive. */
  const assertServing = async (): Promise<InstanceJson[]> => {
    const instances = await ps();
    assert.deepEqual(
      instances.map((i) => `${i.type} v${i.version} ${i.state}`),
      [`web v${current} running`, `web v${current} running`],
      `instances: ${JSON.stringify(instances)}`,
    );
    for (const i of instances) assert.ok(alive(i.pid), `${i.id} (pid ${i.pid}) is listed but not alive`);
    return instances;
  };

  const assertDead = (pids: number[], what: string): Promise<unknown> =>
    waitFor(`${what} (pids ${pids.join(", ")}) to be gone`, () => (pids.some(alive) ? undefined : true), {
      timeoutMs: 5_000,
    }).catch(() => assert.fail(`${what}: pids still alive: ${pids.filter(alive).join(", ")}`));

  /**
   * Deploy a release slow in `injection.step`, kill the server inside that step, restart it, and
   * check everything the restarted server must have made true. Then a normal deploy must succeed.
   */
  const killInStep = async (t: TestContext, injection: Injection): Promise<void> => {
    assert.ok(server !== undefined && load !== undefined, "needs the server and load of `before`");
    const from = Date.now();
    const where = injection.failpoint ?? `in-${injection.step}`;
    const label = `killed-${where}`;
    const oldLabel = labels.get(current) ?? "";
    const oldPids = (await assertServing()).map((i) => i.pid);
    if (injection.failpoint !== undefined) {
      // A failpoint is read at start: the server is restarted with it armed (an idle kill, too).
      await killServer();
      await restart({ ...process.env, BATON_FAILPOINT: injection.failpoint });
    }
    const held = injection.holdDrain
      ? [1, 2].map(() => http(port, "/slow?ms=6000", { headers: { host: HOST }, timeoutMs: 30_000 }))
      : [];
    const pending = baton(
      ["deploy", variant(label, injection.behaviour, injection.baton), "--app", APP, "--json"],
      DEPLOY_TIMEOUT_MS,
    );
    let deployId: number | undefined;
    let abandonedPids: number[] = [];
    const running = server as ServerProc;
    if (injection.failpoint !== undefined) {
      await Promise.race([
        running.exited,
        pending.then(() => assert.fail(`the deploy ended without reaching the ${injection.failpoint} failpoint`)),
      ]);
      assert.equal(running.proc.signalCode, "SIGKILL", "the server killed itself at the failpoint");
      server = undefined;
    } else {
      const client = api();
      const seen = await waitFor(
        `the deploy of ${label} to be in its ${injection.step} step`,
        async () => {
          const st = await client.get<StatusJson>(`/v1/apps/${APP}`).catch(() => undefined);
          const inStep = st?.deploy?.status === "running" && st.deploy.phase === injection.step;
          return inStep && (injection.ready?.(label) ?? true) ? st : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      deployId = seen.deploy?.id;
      // What `baton ps` lists of the new release at the kill: all of it must be gone afterwards.
      abandonedPids = (await ps()).filter((i) => i.version !== current).map((i) => i.pid);
      await killServer();
    }
    const killedAt = Date.now();
    const cut = await pending;
    assert.equal(cut.code, 1, "a deploy whose server died under it reports a failure");
    assert.match(cut.stderr, /BATON_[A-Z_]+/);
    const commandPids = markersOf(label).flatMap((m) => [m.pid, m.childPid]);

    await restart();
    if (deployId === undefined) {
      const listed = await api().get<{ deploys: Array<{ id: number }> }>(`/v1/apps/${APP}/deploys`);
      deployId = listed.deploys[0]?.id;
    }
    const resolved = await waitFor(
      `the interrupted deploy ${deployId} to be resolved`,
      async () => {
        const st = await status();
        return st.deploy === null && st.lastDeploy?.id === deployId ? st : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    for (const reply of await Promise.all(held)) {
      assert.equal(reply.status, 200, `a request in flight across the kill: ${reply.body}`);
      assert.equal(reply.body, `slow ${oldLabel}\n`);
    }

    // The deploy's record: resolved the way the router says, no step left running.
    const record = await api().get<DeployRecordJson>(`/v1/deploys/${deployId}`);
    assert.deepEqual(
      record.steps.filter((s) => s.status === "running").map((s) => s.name),
      [],
      "a resolved deploy has no step left running",
    );
    assert.equal(record.details.runningCommand, undefined, "a resolved deploy names no running command");
    const newVersion = record.version;
    if (injection.expect === "rolled back") {
      assert.equal(resolved.lastDeploy?.status, "failed", JSON.stringify(resolved.lastDeploy));
      assert.equal(resolved.lastDeploy?.error?.code, "BATON_DEPLOY_INTERRUPTED");
      assert.equal(resolved.currentVersion, current, "the old release is still current");
      abandonedPids = [...new Set([...abandonedPids, ...pidsOf(label)])];
      if (newVersion !== null) {
        assert.ok(!existsSync(appPaths(home, APP).release(newVersion)), `the files of v${newVersion} were not removed`);
        assert.equal((await releases()).find((r) => r.version === newVersion)?.status, "failed");
      }
    } else {
      assert.equal(resolved.lastDeploy?.status, "succeeded", JSON.stringify(resolved.lastDeploy));
      assert.ok(newVersion !== null && resolved.currentVersion === newVersion, "the new release is current");
      current = newVersion;
      labels.set(current, label);
      abandonedPids = oldPids;
    }
    // The store names the release the router serves; nothing of the abandoned one runs, nor any
    // build or release command of the killed deploy.
    const expected = labels.get(resolved.currentVersion ?? -1);
    assert.deepEqual(await served(), [expected], `baton status says v${resolved.currentVersion} (${expected})`);
    const serving = (await assertServing()).map((i) => i.pid).sort();
    if (injection.expect === "rolled back") assert.deepEqual(serving, [...oldPids].sort(), "the old instances serve");
    else assert.deepEqual(serving, pidsOf(label).sort(), "the instances the deploy started serve");
    await assertDead(abandonedPids, `the instances of the abandoned release`);
    await assertDead(commandPids, "the build and release commands of the killed deploy");
    assert.deepEqual(
      (await releases()).filter((r) => r.status === "pending").map((r) => r.version),
      [],
      "no release is left pending",
    );
    const window = load.window(from);

    // The store and the queue are not wedged: the next deploy goes through.
    await deployLive(`after-${where}`);
    const all = load.window(from);
    t.diagnostic(
      `injected: SIGKILL of the server ${injection.failpoint === undefined ? `in the ${injection.step} step` : `at failpoint ${injection.failpoint}`}; ` +
        `deploy ${deployId} ${resolved.lastDeploy?.status}${injection.expect === "rolled back" ? ` (${resolved.lastDeploy?.error?.code})` : ""}; ` +
        `${abandonedPids.length} instance(s) and ${commandPids.length} command process(es) of the abandoned side gone; ` +
        `${Date.now() - killedAt} ms from the kill to the end of the follow-up deploy`,
    );
    t.diagnostic(
      `failed requests: ${window.failed} of ${window.requests} until resolved, ${all.failed} of ${all.requests} with the follow-up deploy`,
    );
    note(`load from the kill test of ${injection.step}: ${JSON.stringify(all)}`);
    assert.equal(all.failed, 0, `${all.failed} of ${all.requests} failed: ${JSON.stringify(all.failures)}`);
    assert.ok(all.requests > 50, `too little load to prove anything: ${all.requests}`);
  };

  before(async () => {
    port = await freePort();
    await restart();
    await deployLive("first");
    load = new Load(port);
    fileStart = Date.now();
  });

  after(async () => {
    await load?.stop();
    await stopEverything(home, server);
    // A test that failed with the server dead leaves no one to shut the rest down: every router,
    // instance and command this file ever started goes, by its process group.
    const commands = markers().flatMap((m) => [m.pid, m.childPid]);
    const instances = existsSync(pidDir) ? readdirSync(pidDir).map(Number) : [];
    for (const pid of [...routerPids, ...instances, ...commands]) if (alive(pid)) killGroup(pid);
    await cleanup();
  });

  test(
    "killed in the stage step, after the Release is made and before the deploy names it: rolled back, the Release discarded",
    explained((t) => killInStep(t, { step: "stage", failpoint: "after-release-created", expect: "rolled back" })),
  );

  test(
    "killed in the build step: rolled back, the build command and its children killed, its files removed",
    explained((t) =>
      killInStep(t, {
        step: "build",
        behaviour: { buildMs: SLOW_COMMAND_MS },
        ready: (label) => markersOf(label, "build").length > 0,
        expect: "rolled back",
      }),
    ),
  );

  test(
    "killed in the release phase: rolled back, the release command and its children killed",
    explained((t) =>
      killInStep(t, {
        step: "release",
        behaviour: { releaseMs: SLOW_COMMAND_MS },
        ready: (label) => markersOf(label, "release").length > 0,
        expect: "rolled back",
      }),
    ),
  );

  test(
    "killed in the boot step: rolled back, the new instances stopped",
    explained((t) =>
      killInStep(t, {
        step: "boot",
        behaviour: { bootDelayMs: 3_000 },
        ready: (label) => pidsOf(label).length === 2,
        expect: "rolled back",
      }),
    ),
  );

  test(
    "killed in the warm-up step: rolled back, the new instances stopped",
    explained((t) =>
      killInStep(t, {
        step: "warmup",
        baton: { warmup: { paths: ["/slow?ms=1000"], count: 6, concurrency: 1 } },
        expect: "rolled back",
      }),
    ),
  );

  test(
    "killed in the switch step just before the router swap: rolled back, the old release never stopped serving",
    explained((t) => killInStep(t, { step: "switch", failpoint: "before-switch", expect: "rolled back" })),
  );

  test(
    "killed in the switch step just after the router swap, before the store records it: completed",
    explained((t) =>
      killInStep(t, { step: "switch", failpoint: "after-switch-before-record", holdDrain: true, expect: "completed" }),
    ),
  );

  test(
    "killed in the drain step: completed, the old instances stopped once drained",
    explained((t) => killInStep(t, { step: "drain", holdDrain: true, expect: "completed" })),
  );

  test(
    "over the whole file: zero failed requests",
    explained(async (t) => {
      assert.ok(load !== undefined);
      await load.stop();
      const total = load.window(fileStart, Number.POSITIVE_INFINITY);
      load = undefined;
      t.diagnostic(`failed requests over the whole file: ${total.failed} of ${total.requests}`);
      assert.equal(total.failed, 0, `${total.failed} of ${total.requests} failed: ${JSON.stringify(total.failures)}`);
    }),
  );
});
