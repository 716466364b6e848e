// `baton router:restart` through the real CLI and server under load: the router is replaced by a
// new process on the same socket, the server follows it, and no request fails.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ApiClient } from "../src/api/client.js";
import { LoadRun } from "../src/load/load.js";
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
const baton = (args: string[], timeoutMs = 60_000) => runCli(home, args, timeoutMs);
const routerPid = async () => (await ApiClient.local(home).get<{ routerPid: number }>("/v1/health", 5_000)).routerPid;

before(async () => {
  server = await startServer(home, await freePort());
});

after(async () => {
  await stopEverything(home, server);
  await cleanup();
});

test(
  "baton router:restart under load: a new router process, the same socket, zero failed requests",
  explained(async (t) => {
    const dir = fixtureApp(join(work, "app"), "steady");
    assert.equal(parseJson<DeployJson>(await baton(["deploy", dir, "--app", "shop", "--json"])).status, "succeeded");
    const load = new LoadRun({
      port: server?.router.port ?? 0,
      hostHeader: "shop.localhost",
      connections: 8,
      maxDurationMs: 20_000,
      maxRequests: 1_000_000,
      requests: [{ path: "/" }, { method: "POST", path: "/echo", body: "hello" }, { path: "/slow?ms=200" }],
    }).start();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const restarted = await baton(["router:restart", "--json"]);
    assert.equal(restarted.code, 0, restarted.stdout + restarted.stderr);
    const { previousPid, pid } = parseJson<{ previousPid: number; pid: number }>(restarted);
    assert.notEqual(pid, previousPid);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const stats = await load.stop();
    t.diagnostic(`${stats.requests} requests across the restart, ${stats.failed} failed`);
    assert.equal(stats.failed, 0, JSON.stringify(stats.failures));
    assert.equal(await routerPid(), pid, "the server follows the new router");
    // So that the shutdown at the end finds the router that runs now.
    if (server !== undefined) server.router.pid = pid;
  }),
);
