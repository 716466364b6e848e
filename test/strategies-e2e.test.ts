// Progressive delivery end to end, through the real CLI and server under continuous load: a rolling
// deploy in batches, a canary in weighted steps, automatic rollback of a release that errs and of
// one that is slow, no false alarm for healthy releases with noise, deploy:promote / deploy:abort,
// and `baton rollback` while the old release is on standby. Every answer of the fixture app carries
// X-Version, so the load client counts which release served each request.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, type TestContext, test } from "node:test";
import { waitFor } from "../src/core/wait.js";
import { LoadRun, type Sample, summarize } from "../src/load/load.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  type CliResult,
  type DeployJson,
  explained,
  fixtureApp,
  type InstanceJson,
  note,
  parseJson,
  cli as runCli,
  type ServerProc,
  type StepJson,
  startServer,
  stopEverything,
} from "./e2e-harness.js";
import { cleanup, tmpHome } from "./helpers.js";

const APP = "shop";
const DEPLOY_TIMEOUT_MS = 120_000;
/** A share measured over this many requests is within a few points of its weight by chance alone. */
const MIN_SHARE_SAMPLE = 300;
/** How far a measured share may be from its weight, in percentage points. */
const SHARE_TOLERANCE = 5;

interface Behaviour {
  bootDelayMs?: number;
  crashAfterReadyMs?: number;
  errorRate?: number;
  delayMs?: number;
  jitterMs?: number;
}

interface StatusJson {
  currentVersion: number | null;
  instances: InstanceJson[];
  deploy: { id: number; phase?: string; status: string } | null;
}

describe("strategies end to end: rolling, canary, automatic and instant rollback under load", () => {
  const home = tmpHome();
  const work = tmpHome();
  let port = 0;
  let server: ServerProc | undefined;
  let load: LoadRun | undefined;
  let epoch = 0;
  let serial = 0;

  const baton = (args: string[], timeoutMs = 20_000) => runCli(home, args, timeoutMs);

  /** A copy of the fixture: its VERSION, behaviour, formation and baton section. */
  const variant = (label: string, behaviour: Behaviour, batonSection: Record<string, unknown>, web = 2): string => {
    return fixtureApp(join(work, `app-${++serial}-${label}`), label, behaviour, {
      formation: { web: { quantity: web } },
      baton: batonSection,
    });
  };

  const deploy = async (dir: string): Promise<{ result: CliResult; json: DeployJson; from: number; to: number }> => {
    const from = Date.now();
    const result = await baton(["deploy", dir, "--app", APP, "--json"], DEPLOY_TIMEOUT_MS);
    return { result, json: parseJson<DeployJson>(result), from, to: Date.now() };
  };

  const status = async (): Promise<StatusJson> =>
    parseJson<StatusJson>(await baton(["status", "--app", APP, "--json"]));

  const waitForPhase = (phase: string): Promise<StatusJson> =>
    waitFor(
      `the deploy to reach its ${phase} step`,
      async () => {
        const s = await status();
        return s.deploy?.phase === phase ? s : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 100 },
    );

  /** The load's requests that started in [from, to) on the wall clock. */
  const samples = (from: number, to = Date.now()): Sample[] =>
    (load?.samples ?? []).filter((s) => s.startMs + epoch >= from && s.startMs + epoch < to);
  const failedIn = (from: number, to = Date.now()) => summarize(samples(from, to), to - from);
  const step = (json: DeployJson, name: string): StepJson => {
    const found = json.steps.find((s) => s.name === name);
    assert.ok(
      found !== undefined,
      `deploy ${json.id} has no ${name} step: ${json.steps.map((s) => s.name).join(", ")}`,
    );
    return found;
  };
  const assertShare = (share: unknown, served: unknown, weight: number, what: string) => {
    const total = Object.values(served as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.ok(total >= MIN_SHARE_SAMPLE, `${what}: only ${total} requests to measure the share on`);
    assert.ok(
      typeof share === "number" && Math.abs(share - weight) <= SHARE_TOLERANCE,
      `${what}: the new release served ${share}% of ${total} requests at weight ${weight}%`,
    );
  };

  before(async () => {
    port = await freePort();
    server = await startServer(home, port);
    const first = await deploy(variant("v1", {}, { bakeMs: 0 }, 4));
    assert.equal(first.json.status, "succeeded", first.result.stdout);
    load = new LoadRun({
      port,
      hostHeader: `${APP}.localhost`,
      connections: 6,
      maxDurationMs: 600_000,
      maxRequests: 3_000_000,
      requestTimeoutMs: 20_000,
      tagHeader: "x-version",
      requests: [
        { path: "/" },
        { method: "POST", path: "/echo", body: '{"order":42}', headers: { "content-type": "application/json" } },
      ],
    }).start();
    epoch = Date.now() - load.now();
  });

  after(async () => {
    await load?.stop();
    await stopEverything(home, server);
    await cleanup();
  });

  test(
    "rolling: 4 instances in batches of 1, each share near its weight, no failed request",
    explained(async () => {
      // Each new instance takes 1.5 s to listen, so every batch holds its weight long enough to measure.
      // Each batch warms up, half of it through the router to that batch's instances.
      const dir = variant(
        "v2",
        { bootDelayMs: 1_500 },
        {
          strategy: "rolling",
          rolling: { maxSurge: 1, maxUnavailable: 0 },
          bakeMs: 0,
          warmup: { paths: ["/"], count: 10, concurrency: 2 },
        },
        4,
      );
      const { result, json, from, to } = await deploy(dir);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(json.status, "succeeded");
      note(
        `load during the rolling deploy: ${JSON.stringify(failedIn(from, to))}; before it: ${JSON.stringify(failedIn(from - 3_000, from))}`,
      );
      const batches = step(json, "rollout").details.batches as Array<Record<string, unknown>>;
      assert.deepEqual(
        batches.map((b) => b.weight),
        [25, 50, 75, 100],
      );
      for (const b of batches.slice(0, -1)) assertShare(b.share, b.served, b.weight as number, `batch ${b.batch}`);
      // Half of each batch's warm-up went through the router, to that batch's one new instance.
      const routed = batches.map(
        (b) => (b.warmup as { throughRouter?: { requests: number; failed: number } }).throughRouter,
      );
      assert.deepEqual(
        routed.map((r) => [r?.requests, r?.failed]),
        batches.map(() => [5, 0]),
        JSON.stringify(batches.map((b) => b.warmup)),
      );
      const window = failedIn(from, to);
      assert.equal(window.failed, 0, `failed during the rolling deploy: ${JSON.stringify(window.failures)}`);
      const s = await status();
      assert.deepEqual(
        s.instances.filter((i) => i.type === "web").map((i) => i.version),
        [2, 2, 2, 2],
      );
    }),
  );

  test(
    "a rolling deploy whose release errs during the bake is rolled back by booting the old release",
    explained(async () => {
      const dir = variant(
        "v2b-errors",
        { errorRate: 0.3 },
        { strategy: "rolling", rolling: { maxSurge: 2 }, bakeMs: 30_000 },
        4,
      );
      const { result, json, to } = await deploy(dir);
      assert.equal(result.code, 1, result.stdout);
      assert.equal(json.status, "rolled_back");
      assert.equal(json.error?.code, "BATON_ROLLED_BACK");
      assert.match(json.error?.hint ?? "", /serves until rollback deploy \d+ has booted v2/);
      const queued = (json as unknown as { details: { evidence?: unknown } }).details;
      assert.ok(queued !== undefined);
      // The queued rollback boots v2 again, all at once, and then nobody meets the bad release.
      const back = await waitFor(
        "the rollback deploy to finish",
        async () => {
          const s = await status();
          return s.deploy === null && s.currentVersion !== json.version ? s : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 250 },
      );
      assert.equal(back.instances.filter((i) => i.type === "web").length, 4, "the whole formation serves again");
      const settled = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal(samples(settled).filter((s) => s.tag === "v2b-errors").length, 0);
      assert.ok(to <= settled);
    }),
  );

  test(
    "canary: 10% then 50% then 100%, each share near its weight, baked, no failed request",
    explained(async () => {
      const dir = variant(
        "v3",
        {},
        {
          strategy: "canary",
          canary: {
            steps: [
              { weight: 10, bakeMs: 5_000 },
              { weight: 50, bakeMs: 4_000 },
            ],
          },
          bakeMs: 3_000,
        },
      );
      const { result, json, from, to } = await deploy(dir);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(json.status, "succeeded");
      const steps = step(json, "canary").details.steps as Array<Record<string, unknown>>;
      assert.deepEqual(
        steps.map((s) => s.weight),
        [10, 50],
      );
      for (const s of steps) assertShare(s.share, s.served, s.weight as number, `canary step ${s.weight}%`);
      assert.equal(step(json, "bake").status, "succeeded");
      const window = failedIn(from, to);
      assert.equal(window.failed, 0, `failed during the canary deploy: ${JSON.stringify(window.failures)}`);
    }),
  );

  /** Deploy a bad release as a canary; it must come back rolled back with the judge's evidence. */
  const badCanary = async (t: TestContext, label: string, behaviour: Behaviour, expected: RegExp) => {
    const dir = variant(label, behaviour, {
      strategy: "canary",
      canary: {
        steps: [
          { weight: 10, bakeMs: 20_000 },
          { weight: 50, bakeMs: 20_000 },
        ],
      },
      bakeMs: 20_000,
    });
    const before = (await status()).currentVersion;
    const { result, json, from, to } = await deploy(dir);
    assert.equal(result.code, 1, "a rolled-back deploy exits 1");
    assert.equal(json.status, "rolled_back", result.stdout);
    assert.equal(json.error?.code, "BATON_ROLLED_BACK");
    assert.match(json.error?.message ?? "", expected);
    assert.equal((await status()).currentVersion, before, "the old release is current again");
    // Who met the bad release: bounded by the canary weight and the time to a verdict.
    const during = samples(from, to);
    const sawBad = during.filter((s) => s.tag === label);
    const share = sawBad.length / Math.max(1, during.length);
    t.diagnostic(
      `${label}: ${sawBad.length} of ${during.length} requests (${(100 * share).toFixed(1)}%) met the bad release in ${to - from} ms; ${sawBad.filter((s) => s.status >= 500).length} of them got a 5xx`,
    );
    assert.ok(sawBad.length > 0, "the canary got some traffic before the verdict");
    assert.ok(share < 0.2, `${(100 * share).toFixed(1)}% of requests met the bad release`);
    // After the rollback: nobody meets it, nothing fails.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const afterwards = samples(to, Date.now());
    assert.ok(afterwards.length > 100, "load kept running after the rollback");
    assert.equal(
      afterwards.filter((s) => s.tag === label).length,
      0,
      "a request met the bad release after the rollback",
    );
    assert.equal(summarize(afterwards, 1_500).failed, 0, "a request failed after the rollback");
    return json;
  };

  test(
    "a release that answers 500 to 30% of requests is rolled back during the canary",
    explained(async (t) => {
      const json = await badCanary(t, "v4-errors", { errorRate: 0.3 }, /5xx rate/);
      const evidence = (json as unknown as { details?: { evidence?: unknown } }).details?.evidence;
      assert.ok(
        evidence !== undefined && evidence !== null,
        "the deploy keeps the numbers that triggered the rollback",
      );
    }),
  );

  test(
    "a release 5x slower than the one it replaces is rolled back",
    explained(async (t) => {
      const healthy = await deploy(variant("v5", { delayMs: 20 }, { bakeMs: 0 }));
      assert.equal(healthy.json.status, "succeeded");
      await badCanary(t, "v6-slow", { delayMs: 100 }, /p99/);
    }),
  );

  test(
    "a release whose instances crash while it has a canary share is rolled back",
    explained(async (t) => {
      // Each instance exits 2.5 s after its first readiness pass: after warm-up, during the 10% step.
      await badCanary(t, "v4-crash", { crashAfterReadyMs: 2_500 }, /crash/);
    }),
  );

  test(
    "config:set redeploys with zero failed requests under load",
    explained(async () => {
      const from = Date.now();
      const set = await baton(["config:set", "--app", APP, "GREETING=hello", "--json"], DEPLOY_TIMEOUT_MS);
      assert.equal(set.code, 0, set.stdout + set.stderr);
      const json = parseJson<DeployJson>(set);
      assert.equal(json.kind, "config");
      assert.equal(json.status, "succeeded");
      const window = failedIn(from, Date.now());
      assert.ok(window.requests > 100, `too little load to prove anything (${window.requests} requests)`);
      assert.equal(window.failed, 0, `failed during config:set: ${JSON.stringify(window.failures)}`);
    }),
  );

  test(
    "healthy releases with noise are never rolled back (three canaries in a row)",
    explained(async () => {
      const noisy: Behaviour = { delayMs: 10, jitterMs: 30, errorRate: 0.005 };
      const base = await deploy(variant("v7-noisy", noisy, { bakeMs: 0 }));
      assert.equal(base.json.status, "succeeded");
      for (let round = 1; round <= 3; round++) {
        const dir = variant(`noisy-${round}`, noisy, {
          strategy: "canary",
          canary: {
            steps: [
              { weight: 20, bakeMs: 3_000 },
              { weight: 50, bakeMs: 3_000 },
            ],
          },
          bakeMs: 3_000,
        });
        const { json, result } = await deploy(dir);
        assert.equal(json.status, "succeeded", `round ${round} was ${json.status}: ${result.stdout}`);
      }
    }),
  );

  test(
    "deploy:promote ends a canary early; deploy:abort takes it out",
    explained(async () => {
      const quiet: Behaviour = {};
      const slowSteps = {
        strategy: "canary",
        canary: { steps: [{ weight: 10, bakeMs: 120_000 }] },
        bakeMs: 0,
      };
      // A promote skips the remaining canary steps, not the bake: the judge still watches.
      const promoted = deploy(variant("v8", quiet, { ...slowSteps, bakeMs: 2_000 }));
      await waitForPhase("canary");
      const promote = await baton(["deploy:promote", "--app", APP]);
      assert.equal(promote.code, 0, promote.stderr);
      const p = await promoted;
      assert.equal(p.json.status, "succeeded");
      assert.ok(p.to - p.from < 60_000, "promote skipped the 120 s step");
      assert.equal(step(p.json, "bake").details.ended, "elapsed", "the bake ran its course after the promote");

      const aborted = deploy(variant("v9", quiet, slowSteps));
      await waitForPhase("canary");
      const abort = await baton(["deploy:abort", "--app", APP, "--json"], 60_000);
      assert.equal(abort.code, 0, abort.stdout + abort.stderr);
      const a = await aborted;
      assert.equal(a.json.status, "rolled_back");
      assert.equal(a.json.error?.code, "BATON_DEPLOY_ABORTED");
      assert.equal((await status()).currentVersion, p.json.version);
      const none = await baton(["deploy:promote", "--app", APP]);
      assert.equal(none.code, 1);
      assert.match(none.stderr + none.stdout, /BATON_NO_ACTIVE_ROLLOUT/);
    }),
  );

  test(
    "baton rollback while the old release is on standby: no boot, no failed request",
    explained(async (t) => {
      const liveBefore = await status();
      const oldPids = liveBefore.instances.filter((i) => i.type === "web").map((i) => i.pid);
      const deploying = deploy(variant("v10", {}, { bakeMs: 60_000 }));
      const baking = await waitForPhase("bake");
      assert.deepEqual(
        baking.instances
          .filter((i) => i.state === "standby")
          .map((i) => i.pid)
          .sort(),
        [...oldPids].sort(),
        "the old instances wait on standby during the bake",
      );
      const started = Date.now();
      const rollback = await baton(["rollback", "--app", APP, "--json"], 60_000);
      const returned = Date.now();
      assert.equal(rollback.code, 0, rollback.stdout + rollback.stderr);
      const d = await deploying;
      assert.equal(d.json.status, "rolled_back");
      assert.equal(d.json.error?.code, "BATON_DEPLOY_ABORTED");
      const afterwards = await status();
      assert.equal(afterwards.currentVersion, liveBefore.currentVersion);
      assert.deepEqual(
        afterwards.instances
          .filter((i) => i.type === "web")
          .map((i) => i.pid)
          .sort(),
        [...oldPids].sort(),
        "the same old processes serve again: nothing was booted",
      );
      const lastOnNew = Math.max(
        0,
        ...samples(started, Date.now())
          .filter((s) => s.tag === "v10")
          .map((s) => s.startMs + epoch),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(
        samples(returned, Date.now()).filter((s) => s.tag === "v10").length,
        0,
        "a request reached v10 after `baton rollback` returned",
      );
      t.diagnostic(
        `rollback: CLI ${returned - started} ms; last request to v10 started ${lastOnNew === 0 ? "before the CLI" : `${Math.round(lastOnNew - started)} ms after the CLI started`}`,
      );
      const window = failedIn(d.from, Date.now());
      assert.equal(window.failed, 0, `failed around the rollback: ${JSON.stringify(window.failures)}`);
    }),
  );
});
