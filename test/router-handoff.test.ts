// Restarting (or upgrading) the router in place: POST /v1/handoff starts a successor on the same
// listening socket; the old process finishes what it has in flight and exits. Under load, no
// connection is refused and no request fails.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { settledWithin } from "../src/core/wait.js";
import { LoadRun } from "../src/load/load.js";
import { cleanup, http, pool, startRouter, startUpstream } from "./helpers.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("router: restart in place", () => {
  /** Successors are started by the router itself (detached), not by the test: killed here. */
  const successors: number[] = [];
  after(async () => {
    for (const pid of successors) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    await cleanup();
  });

  test("handed off twice under load: no request fails, in-flight ones finish, the table comes along", async (t) => {
    const router = await startRouter();
    const group = await Promise.all([startUpstream("ho-a"), startUpstream("ho-b")]);
    await router.client.putApp({ name: "shop", domains: ["shop.test"] });
    await router.client.swap("shop", pool("ho", "v1", group, "/id"));
    const first = await router.client.health();
    // What bench/soak samples: the router's memory as its own process sees it.
    assert.ok((first.memory?.rssBytes ?? 0) > 0 && (first.memory?.heapUsedBytes ?? 0) > 0, JSON.stringify(first));
    assert.equal(typeof first.memory?.majorGcs, "number");
    // Where its public port listens: what a server that adopts it sends its warm-up to.
    assert.equal(first.host, "127.0.0.1");
    const load = new LoadRun({
      port: router.port,
      hostHeader: "shop.test",
      connections: 16,
      maxDurationMs: 20_000,
      maxRequests: 1_000_000,
      requests: [{ path: "/id" }, { method: "POST", path: "/echo", body: "x".repeat(1_000) }, { path: "/slow?ms=300" }],
    }).start();
    await sleep(1_000);

    const second = await router.client.handOff();
    successors.push(second.pid);
    assert.notEqual(second.pid, first.pid);
    // The old process retires by itself once its in-flight requests (300 ms ones among them) end.
    assert.ok(await settledWithin(router.exited, 15_000), "the old router exited after the handoff");
    assert.equal((await router.client.health()).pid, second.pid, "the admin socket is the successor's");
    await sleep(1_000);

    // The successor can hand off in turn (an upgrade after an upgrade).
    const third = await router.client.handOff();
    successors.push(third.pid);
    await sleep(1_500);
    assert.equal((await router.client.health()).pid, third.pid);

    const stats = await load.stop();
    t.diagnostic(`${stats.requests} requests across two handoffs, ${stats.failed} failed`);
    assert.equal(stats.failed, 0, JSON.stringify(stats.failures));
    assert.ok(stats.requests > 500, `too few requests to prove anything: ${stats.requests}`);
    // The routing table came across from the snapshot: same Pool, and it serves.
    const shop = (await router.client.table()).apps.find((a) => a.name === "shop");
    assert.equal(shop?.active?.id, "ho");
    assert.equal((await http(router.port, "/id", { headers: { host: "shop.test" } })).status, 200);
  });
});
