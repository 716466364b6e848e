import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { LoadRun } from "../src/load/load.js";
import {
  cleanup,
  http,
  pool,
  type RouterProc,
  startRouter,
  startUpstream,
  type Upstream,
  untilHeld,
} from "./helpers.js";

/** The most requests the instance was answering at once, by its own count. */
async function maxActive(upstream: Upstream): Promise<number> {
  const reply = await http(upstream.port, "/max-active");
  return Number(reply.body);
}

describe("router: a per-instance request limit queues the rest instead of piling onto the instance", () => {
  let router: RouterProc;

  before(async () => {
    router = await startRouter();
  });
  after(cleanup);

  test("one instance with a limit of 2 never answers more than 2 at once; 12 concurrent requests all succeed", async (t) => {
    const upstream = await startUpstream("limit-1");
    await router.client.putApp({ name: "lim", domains: ["lim.test"], maxRequestsPerInstance: 2 });
    await router.client.swap("lim", pool("l1", "v1", [upstream]));
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        http(router.port, `/slow?ms=150&n=${i}`, { headers: { host: "lim.test" }, timeoutMs: 20_000 }),
      ),
    );
    const stats = await router.client.appStats("lim");
    const most = await maxActive(upstream);
    t.diagnostic(
      `12 concurrent 150 ms requests, limit 2: ${stats.queued} queued, instance saw at most ${most} at once`,
    );
    for (const reply of replies) assert.equal(reply.status, 200, reply.body);
    assert.equal(most, 2, "the instance saw more (or fewer) requests at once than its limit");
    assert.ok(stats.queued >= 10, `only ${stats.queued} requests waited for a slot`);
    assert.equal(stats.holdTimeouts, 0);
    assert.equal(stats.heldNow, 0);
  });

  test("the limit is per instance: two instances with a limit of 1 each answer one at a time, both used", async () => {
    const a = await startUpstream("per-a");
    const b = await startUpstream("per-b");
    await router.client.putApp({ name: "per", domains: ["per.test"], maxRequestsPerInstance: 1 });
    await router.client.swap("per", pool("p1", "v1", [a, b]));
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => http(router.port, "/slow?ms=100", { headers: { host: "per.test" } })),
    );
    for (const reply of replies) assert.equal(reply.status, 200, reply.body);
    const served = new Set(replies.map((r) => r.body));
    assert.deepEqual([...served].sort(), ["slow per-a", "slow per-b"]);
    assert.equal(await maxActive(a), 1);
    assert.equal(await maxActive(b), 1);
  });

  test("a request still queued at the hold timeout gets 503 BATON_ROUTER_QUEUE_TIMEOUT and never reaches the instance", async () => {
    const upstream = await startUpstream("qt-1");
    await router.client.putApp({ name: "qt", domains: ["qt.test"], maxRequestsPerInstance: 1, holdTimeoutMs: 400 });
    await router.client.swap("qt", pool("q1", "v1", [upstream]));
    const busy = http(router.port, "/slow?ms=2000", { headers: { host: "qt.test" } });
    await untilInFlight(router, "qt", 1);
    const late = await http(router.port, "/id", {
      headers: { host: "qt.test", accept: "application/json", "x-request-id": "queued-too-long" },
    });
    assert.equal(late.status, 503);
    assert.equal(late.headers["retry-after"], "5");
    assert.equal((JSON.parse(late.body) as { error: { code: string } }).error.code, "BATON_ROUTER_QUEUE_TIMEOUT");
    assert.equal((await busy).status, 200);
    assert.equal((await http(upstream.port, "/seen?id=queued-too-long")).body, "0");
    const stats = await router.client.appStats("qt");
    assert.equal(stats.holdTimeouts, 1);
    assert.equal(stats.queued, 1);
  });

  test("raising the limit serves the queue at once; null puts the router's hold timeout back", async () => {
    const upstream = await startUpstream("raise-1");
    await router.client.putApp({ name: "raise", domains: ["raise.test"], maxRequestsPerInstance: 1 });
    await router.client.swap("raise", pool("r1", "v1", [upstream]));
    const replies = Array.from({ length: 4 }, () =>
      http(router.port, "/slow?ms=1500", { headers: { host: "raise.test" } }),
    );
    await untilHeld(router.client, "raise", 3);
    await router.client.putApp({ name: "raise", domains: ["raise.test"], maxRequestsPerInstance: 4 });
    for (const reply of await Promise.all(replies)) assert.equal(reply.status, 200, reply.body);
    assert.equal(await maxActive(upstream), 4, "the queued requests waited for the first one");
    await router.client.putApp({ name: "raise", domains: ["raise.test"], holdTimeoutMs: 1_000 });
    await router.client.putApp({ name: "raise", domains: ["raise.test"], holdTimeoutMs: null });
    const table = await router.client.table();
    const app = table.apps.find((a) => a.name === "raise");
    assert.equal(app?.holdTimeoutMs, 30_000, "null gives the router's default back");
    assert.equal(app?.maxRequestsPerInstance, 4, "an absent limit keeps the one set");
  });

  test("an invalid limit is refused with every problem named", async () => {
    await assert.rejects(
      router.client.putApp({ name: "bad", domains: ["bad.test"], maxRequestsPerInstance: -1 }),
      /maxRequestsPerInstance must be an integer from 0 \(no limit\) to 100000/,
    );
    await assert.rejects(
      router.client.putApp({ name: "bad", domains: ["bad.test"], maxRequestsPerInstance: "8" as unknown as number }),
      /maxRequestsPerInstance must be a number/,
    );
  });

  test("under load, a swap to a new Pool with the limit costs no request and the queue drains into it", async (t) => {
    const old = [await startUpstream("ql-a"), await startUpstream("ql-b")];
    const next = [await startUpstream("ql-c"), await startUpstream("ql-d")];
    await router.client.putApp({ name: "ql", domains: ["ql.test"], maxRequestsPerInstance: 3 });
    await router.client.swap("ql", pool("ql1", "v1", old));
    const load = new LoadRun({
      port: router.port,
      hostHeader: "ql.test",
      connections: 16,
      maxDurationMs: 20_000,
      maxRequests: 200_000,
      requests: [{ path: "/id" }, { method: "POST", path: "/echo", body: "x".repeat(500) }, { path: "/slow?ms=50" }],
    }).start();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await router.client.swap("ql", pool("ql2", "v2", next));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const total = await load.stop();
    const stats = await router.client.appStats("ql");
    const most = Math.max(...(await Promise.all([...old, ...next].map((u) => maxActive(u)))));
    t.diagnostic(
      `16 connections on 2 + 2 instances with a limit of 3, swapped under load: ${total.requests} requests, ${total.failed} failed, ${stats.queued} queued, instance peak ${most}`,
    );
    assert.ok(total.requests > 200, `too few requests to prove anything: ${total.requests}`);
    assert.equal(total.failed, 0, `failed: ${JSON.stringify(total.failures)}`);
    assert.ok(stats.queued > 0, "16 connections on 6 slots never queued: the test proves nothing");
    assert.ok(most <= 3, `an instance answered ${most} requests at once`);
    assert.equal(stats.heldNow, 0);
  });
});

function untilInFlight(router: RouterProc, app: string, n: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  return (async () => {
    while (Date.now() < deadline) {
      const stats = await router.client.appStats(app);
      if (stats.releases.reduce((sum, r) => sum + r.inFlight, 0) >= n) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`${n} requests of ${app} never in flight`);
  })();
}
