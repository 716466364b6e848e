import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/core/wait.js";
import { LoadRun } from "../src/load/load.js";
import { freePort } from "../src/supervisor/ports.js";
import { cleanup, http, pool, type RouterProc, startRouter, startUpstream, type Upstream } from "./helpers.js";

describe("router with --workers 2 (one admin API, two proxy processes)", () => {
  let router: RouterProc;
  let v1: Upstream[];
  let v2: Upstream[];

  before(async () => {
    router = await startRouter({ port: await freePort(), args: ["--workers", "2"] });
    v1 = await Promise.all([startUpstream("c1-a"), startUpstream("c1-b")]);
    v2 = await Promise.all([startUpstream("c2-a"), startUpstream("c2-b")]);
    await router.client.putApp({ name: "shop", domains: ["shop.test"], isDefault: true });
    await router.client.swap("shop", pool("c0", "v1", v1));
  });
  after(cleanup);

  test("swaps under load fail zero requests, and the counts add up across workers", async () => {
    const before = (await router.client.appStats("shop")).releases.reduce((n, r) => n + r.requests, 0);
    const load = new LoadRun({
      port: router.port,
      connections: 16,
      maxDurationMs: 15_000,
      maxRequests: 200_000,
      requests: [{ path: "/id" }, { method: "POST", path: "/echo", body: "hello" }, { path: "/slow?ms=100" }],
    }).start();
    let serial = 0;
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      const group = i % 2 === 0 ? v2 : v1;
      const { previous } = await router.client.swap("shop", pool(`c${++serial}`, i % 2 === 0 ? "v2" : "v1", group));
      const report = await router.client.drain((previous as { id: string }).id, { timeoutMs: 5_000 });
      assert.equal(report.requestsCut, 0);
    }
    const total = await load.stop();
    assert.equal(total.failed, 0, JSON.stringify(total.failures));
    const stats = await router.client.appStats("shop");
    const counted = stats.releases.reduce((n, r) => n + r.requests, 0) - before;
    assert.equal(counted, total.requests, "the workers' counts do not add up to the requests sent");
  });

  test("a routing change reaches every worker before the admin call returns", async () => {
    await router.client.setMaintenance("shop", { enabled: true, retryAfterS: 30 });
    // New connections land on either worker; none may still route.
    for (let i = 0; i < 20; i++) assert.equal((await http(router.port, "/id")).status, 503);
    await router.client.setMaintenance("shop", { enabled: false, retryAfterS: 30 });
    for (let i = 0; i < 20; i++) assert.equal((await http(router.port, "/id")).status, 200);
  });

  test("a prepared Pool's warm-up host routes to it on every worker; the swap takes it, users never saw it", async () => {
    const warmupHost = "warmup-cluster.baton.invalid";
    const active = (await router.client.table()).apps.find((a) => a.name === "shop")?.active;
    const next = active?.release === "v2" ? v1 : v2;
    const nextIds = new Set(next.map((u) => u.id));
    const prepared = await router.client.prepare("shop", pool("c-prepared", "v3", next), warmupHost);
    assert.equal(prepared.warmupHost, warmupHost);
    assert.equal((await router.client.table()).apps.find((a) => a.name === "shop")?.prepared?.id, "c-prepared");
    // New connections land on either worker: each must route the warm-up host, and users elsewhere.
    for (let i = 0; i < 20; i++) {
      assert.ok(nextIds.has((await http(router.port, "/id", { headers: { host: warmupHost } })).body));
      assert.ok(!nextIds.has((await http(router.port, "/id")).body), "a user's request reached the prepared pool");
    }
    const { previous } = await router.client.swap("shop", pool("c-prepared", "v3", next));
    if (previous !== null) await router.client.drain(previous.id, { timeoutMs: 5_000 });
    for (let i = 0; i < 20; i++) assert.ok(nextIds.has((await http(router.port, "/id")).body));
    assert.equal((await router.client.table()).apps.find((a) => a.name === "shop")?.prepared, null);
    // Now a name no Pool has: the router's own 404, never the default app (which shop is).
    const stale = await http(router.port, "/id", { headers: { host: warmupHost } });
    assert.equal(stale.status, 404);
    assert.equal(stale.headers["x-baton-error"], "BATON_ROUTER_NO_APP");
  });

  test("a worker that dies is replaced and given the current table", async () => {
    const workersOf = (pid: number) =>
      execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" })
        .trim()
        .split("\n")
        .map(Number);
    const [victim] = workersOf(router.proc.pid as number);
    process.kill(victim as number, "SIGKILL");
    await waitFor(
      "a replacement worker",
      async () => {
        const { workers } = (await router.client.health()) as unknown as { workers: number };
        const pids = workersOf(router.proc.pid as number);
        return workers === 2 && pids.length === 2 && !pids.includes(victim as number) ? true : undefined;
      },
      { timeoutMs: 10_000 },
    );
    // The primary answers where the workers' shared public port listens.
    assert.equal((await router.client.health()).host, "127.0.0.1");
    for (let i = 0; i < 20; i++) assert.equal((await http(router.port, "/id")).status, 200);
  });
});
