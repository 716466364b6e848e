// A hung instance of a live release, through the real CLI and server under load: the router takes
// it out of rotation at its first timed-out request (retrying that request on the other instance),
// and the control plane replaces it once it has stayed out for UNRESPONSIVE_AFTER_MS. No request
// fails, and the app is back to its full formation.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { waitFor } from "../src/core/wait.js";
import { UNRESPONSIVE_AFTER_MS } from "../src/deploy/unresponsive-watch.js";
import { LoadRun } from "../src/load/load.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  type DeployJson,
  explained,
  fixtureApp,
  type InstanceJson,
  parseJson,
  cli as runCli,
  type ServerProc,
  startServer,
  stopEverything,
} from "./e2e-harness.js";
import { cleanup, type RouterProc, startRouter, tmpHome } from "./helpers.js";

const home = tmpHome();
const work = tmpHome();
let router: RouterProc | undefined;
let server: ServerProc | undefined;
const baton = (args: string[], timeoutMs = 60_000) => runCli(home, args, timeoutMs);
type Instance = InstanceJson & { restarts: number };
const instances = async () => parseJson<Instance[]>(await baton(["ps", "--app", "shop", "--json"]));

before(async () => {
  // The server adopts a router already answering in its home: this one gives up on an instance
  // after 1 s instead of the default 60 s, so the test does not wait a minute for the first timeout.
  router = await startRouter({ home, port: await freePort(), args: ["--response-timeout", "1000"] });
  server = await startServer(home, router.port);
});

after(async () => {
  await stopEverything(home, server);
  await cleanup();
});

test(
  "a hung instance (SIGSTOP) is ejected at once and replaced after it stays out: zero failed requests",
  explained(async (t) => {
    const dir = fixtureApp(join(work, "app"), "steady");
    assert.equal(parseJson<DeployJson>(await baton(["deploy", dir, "--app", "shop", "--json"])).status, "succeeded");
    const before = await instances();
    assert.equal(before.length, 2);
    const hung = before[0] as Instance;
    const targetState = async () =>
      (await router?.client.table())?.apps
        .find((a) => a.name === "shop")
        ?.active?.targets.find((target) => target.port === hung.port)?.state;

    const load = new LoadRun({
      port: router?.port ?? 0,
      hostHeader: "shop.localhost",
      connections: 4,
      maxDurationMs: UNRESPONSIVE_AFTER_MS + 30_000,
      maxRequests: 1_000_000,
      requests: [{ path: "/" }, { method: "HEAD", path: "/" }, { path: "/slow?ms=20" }],
    }).start();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const stoppedAt = Date.now();
    process.kill(hung.pid, "SIGSTOP");
    try {
      await waitFor(
        "the router to eject the hung instance",
        async () => ((await targetState()) === "ejected" ? true : undefined),
        { timeoutMs: 10_000 },
      );
      const replaced = await waitFor(
        "the control plane to replace it",
        async () => {
          const now = (await instances()).find((i) => i.id === hung.id);
          return now !== undefined && now.pid !== hung.pid && now.state === "running" ? now : undefined;
        },
        { timeoutMs: UNRESPONSIVE_AFTER_MS + 20_000, intervalMs: 250 },
      );
      t.diagnostic(`replaced ${Math.round((Date.now() - stoppedAt) / 100) / 10} s after it hung`);
      assert.equal(replaced.port, hung.port, "restarted on its port, so the router's Target stays valid");
      assert.ok(replaced.restarts >= 1);
    } finally {
      // SIGKILL ends a stopped process too; this only matters when the test failed before that.
      try {
        process.kill(hung.pid, "SIGCONT");
      } catch {
        // Gone: replaced as it should be.
      }
    }
    await waitFor(
      "the new instance back in rotation",
      async () => ((await targetState()) === "ready" ? true : undefined),
      {
        timeoutMs: 20_000,
        intervalMs: 100,
      },
    );
    const stats = await load.stop();
    t.diagnostic(`load: ${stats.requests} requests, ${stats.failed} failed`);
    assert.equal(stats.failed, 0, JSON.stringify(stats.failures));
    assert.ok(stats.requests > 200);
  }),
);
