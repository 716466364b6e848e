// app.json `baton.router` through the real CLI and server: a deploy gives the router the new
// release's per-instance request limit and hold timeout at the switch, under load with the limit
// queueing requests, and a later release without the key takes both back to the defaults.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LoadRun } from "../src/load/load.js";
import { RouterClient } from "../src/router/client.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  type DeployJson,
  explained,
  fixtureApp,
  parseJson,
  cli as runCli,
  type ServerProc,
  startServer,
  stopEverything,
} from "./e2e-harness.js";
import { cleanup, tmpHome } from "./helpers.js";

const home = tmpHome();
const work = tmpHome();
let server: ServerProc | undefined;
const baton = (args: string[], timeoutMs = 120_000) => runCli(home, args, timeoutMs);

before(async () => {
  server = await startServer(home, await freePort());
});

after(async () => {
  await stopEverything(home, server);
  await cleanup();
});

test(
  "a release's baton.router limit reaches the router at the switch; under load it queues and fails nothing",
  explained(async (t) => {
    const router = new RouterClient(join(home, "router.sock"));
    const routeOf = async () => (await router.table()).apps.find((a) => a.name === "shop");
    const v1 = fixtureApp(join(work, "v1"), "v1");
    assert.equal(parseJson<DeployJson>(await baton(["deploy", v1, "--app", "shop", "--json"])).status, "succeeded");
    assert.equal((await routeOf())?.maxRequestsPerInstance, 0, "no limit unless app.json sets one");

    const load = new LoadRun({
      port: server?.router.port ?? 0,
      hostHeader: "shop.localhost",
      connections: 8,
      maxDurationMs: 120_000,
      maxRequests: 1_000_000,
      requests: [{ path: "/" }, { method: "POST", path: "/echo", body: "x".repeat(300) }, { path: "/slow?ms=40" }],
    }).start();
    const limited = fixtureApp(
      join(work, "v2"),
      "v2",
      {},
      {
        baton: { router: { maxRequestsPerInstance: 2, holdTimeoutMs: 20_000 } },
      },
    );
    const v2 = parseJson<DeployJson>(await baton(["deploy", limited, "--app", "shop", "--json"]));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const stats = await load.stop();
    const route = await routeOf();
    const queued = (await router.appStats("shop")).queued;
    t.diagnostic(
      `8 connections, deploy of v2 with a limit of 2 per instance (2 instances): ${stats.requests} requests, ${stats.failed} failed, ${queued} queued for a slot`,
    );
    assert.equal(v2.status, "succeeded");
    assert.equal(stats.failed, 0, JSON.stringify(stats.failures));
    assert.ok(stats.requests > 100, `too few requests to prove anything: ${stats.requests}`);
    assert.equal(route?.maxRequestsPerInstance, 2);
    assert.equal(route?.holdTimeoutMs, 20_000);
    assert.ok(queued > 0, "8 connections on 4 slots never queued: the limit was not applied");

    const v3 = fixtureApp(join(work, "v3"), "v3");
    assert.equal(parseJson<DeployJson>(await baton(["deploy", v3, "--app", "shop", "--json"])).status, "succeeded");
    const back = await routeOf();
    assert.equal(back?.maxRequestsPerInstance, 0, "a release without the key has no limit");
    assert.equal(back?.holdTimeoutMs, 30_000, "and the router's own hold timeout");
  }),
);
