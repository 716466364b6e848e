import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/core/wait.js";
import { LoadRun } from "../src/load/load.js";
import { freePort } from "../src/supervisor/ports.js";
import { cleanup, http, pool, type RouterProc, startRouter, startUpstream, type Upstream } from "./helpers.js";

const HOST = { host: "shop.test" };

describe("router: retries and ejection", () => {
  let router: RouterProc;
  let serial = 0;
  const swapTo = (group: Upstream[], healthPath?: string) =>
    router.client.swap("shop", pool(`r${++serial}`, "v1", group, healthPath));

  before(async () => {
    router = await startRouter();
    await router.client.putApp({ name: "shop", domains: ["shop.test"] });
  });
  after(cleanup);

  test("an instance killed with SIGKILL under GET load costs zero failed requests", async () => {
    const group = await Promise.all([startUpstream("k-a"), startUpstream("k-b"), startUpstream("k-c")]);
    await swapTo(group);
    const load = new LoadRun({
      port: router.port,
      hostHeader: "shop.test",
      connections: 24,
      maxDurationMs: 4_000,
      maxRequests: 200_000,
      requests: [{ path: "/id" }, { path: "/slow?ms=50" }, { method: "HEAD", path: "/id" }],
    }).start();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await (group[0] as Upstream).kill("SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 500));
    await (group[1] as Upstream).kill("SIGKILL");
    const total = await load.stop();
    assert.ok(total.requests > 300, `too few requests to prove anything: ${total.requests}`);
    assert.equal(total.failed, 0, `failed: ${JSON.stringify(total.failures)}`);
    const stats = await router.client.appStats("shop");
    const v1 = stats.releases.find((r) => r.release === "v1");
    assert.ok((v1?.retries ?? 0) > 0, "the kill should have caused retries");
  });

  test("a hung instance (SIGSTOP) under GET load is ejected, its requests retried on the others: zero failed", async () => {
    // The kernel still accepts connections for a stopped process; it just never answers.
    const hungRouter = await startRouter({ args: ["--response-timeout", "800"] });
    await hungRouter.client.putApp({ name: "shop", domains: ["shop.test"] });
    const group = await Promise.all([startUpstream("h-a"), startUpstream("h-b"), startUpstream("h-c")]);
    await hungRouter.client.swap("shop", pool("h1", "v1", group, "/id"));
    const hung = group[0] as Upstream;
    const targetState = async () =>
      (await hungRouter.client.table()).apps
        .find((a) => a.name === "shop")
        ?.active?.targets.find((t) => t.port === hung.port)?.state;
    const load = new LoadRun({
      port: hungRouter.port,
      hostHeader: "shop.test",
      connections: 16,
      maxDurationMs: 15_000,
      maxRequests: 200_000,
      requests: [{ path: "/id" }, { path: "/slow?ms=20" }, { method: "HEAD", path: "/id" }],
    }).start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      process.kill(hung.proc.pid as number, "SIGSTOP");
      await waitFor(
        "the hung instance to be ejected",
        async () => ((await targetState()) === "ejected" ? true : undefined),
        {
          timeoutMs: 5_000,
          intervalMs: 50,
        },
      );
      // Out of rotation: nothing more waits on it while it stays hung.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.equal(await targetState(), "ejected", "a hung instance stays out while its check cannot pass");
    } finally {
      process.kill(hung.proc.pid as number, "SIGCONT");
    }
    await waitFor(
      "the instance to return once it answers",
      async () => ((await targetState()) === "ready" ? true : undefined),
      {
        timeoutMs: 5_000,
        intervalMs: 50,
      },
    );
    const total = await load.stop();
    assert.ok(total.requests > 300, `too few requests to prove anything: ${total.requests}`);
    assert.equal(total.failed, 0, `failed: ${JSON.stringify(total.failures)}`);
    const v1 = (await hungRouter.client.appStats("shop")).releases.find((r) => r.release === "v1");
    assert.ok((v1?.errors.timeout ?? 0) > 0, "requests in flight on the hung instance timed out");
    assert.ok((v1?.retries ?? 0) >= (v1?.errors.timeout ?? 0), "and each was retried on another instance");
  });

  test("a request that times out on the only instance gets its 504 with no second try", async () => {
    const slowRouter = await startRouter({ args: ["--response-timeout", "300"] });
    const upstream = await startUpstream("t-only");
    await slowRouter.client.putApp({ name: "shop", domains: ["shop.test"] });
    await slowRouter.client.swap("shop", pool("t2", "v1", [upstream], "/id"));
    const reply = await http(slowRouter.port, "/slow?ms=3000", { headers: HOST });
    assert.equal(reply.status, 504);
    const v1 = (await slowRouter.client.appStats("shop")).releases.find((r) => r.release === "v1");
    assert.equal(v1?.retries, 0);
  });

  /** Find which instance holds request `id`, by asking each one directly. */
  const holder = async (group: Upstream[], id: string): Promise<Upstream> =>
    waitFor(
      `an instance to receive ${id}`,
      async () => {
        for (const u of group) if ((await http(u.port, `/seen?id=${id}`)).body === "1") return u;
        return undefined;
      },
      { timeoutMs: 5_000, intervalMs: 20 },
    );

  test("a POST in flight on a killed instance is answered 502 and never sent twice", async () => {
    const group = await Promise.all([startUpstream("p-a"), startUpstream("p-b")]);
    await swapTo(group);
    const reply = http(router.port, "/record?ms=3000", {
      method: "POST",
      headers: { ...HOST, "x-request-id": "post-once", accept: "application/json" },
      body: "order=1",
    });
    const victim = await holder(group, "post-once");
    await victim.kill("SIGKILL");
    const answer = await reply;
    assert.equal(answer.status, 502);
    assert.equal(JSON.parse(answer.body).error.code, "BATON_ROUTER_UPSTREAM_RESET");
    const other = group.find((u) => u !== victim) as Upstream;
    assert.equal((await http(other.port, "/seen?id=post-once")).body, "0", "the POST was sent a second time");
  });

  test("an idempotent request in flight on a killed instance is retried once on another and succeeds", async () => {
    const group = await Promise.all([startUpstream("g-a"), startUpstream("g-b")]);
    await swapTo(group);
    const reply = http(router.port, "/record?ms=1500", { headers: { ...HOST, "x-request-id": "get-retry" } });
    const victim = await holder(group, "get-retry");
    await victim.kill("SIGKILL");
    const answer = await reply;
    const other = group.find((u) => u !== victim) as Upstream;
    assert.equal(answer.status, 200);
    assert.equal(answer.body, `recorded ${other.id}`);
  });

  test("a Target that refuses connections is ejected, and returns to rotation once its active check passes", async () => {
    const live = await startUpstream("e-live");
    const laterPort = await freePort();
    await router.client.swap("shop", {
      id: `r${++serial}`,
      release: "v1",
      targets: [live.target, { host: "127.0.0.1", port: laterPort }],
      healthPath: "/health",
    });
    for (let i = 0; i < 30; i++) {
      const reply = await http(router.port, "/id", { headers: HOST });
      assert.equal(reply.status, 200);
      assert.equal(reply.body, "e-live");
    }
    const targetState = async (port: number) => {
      const table = await router.client.table();
      const app = table.apps.find((a) => a.name === "shop") as {
        active: { targets: Array<{ port: number; state: string }> };
      };
      return app.active.targets.find((t) => t.port === port)?.state;
    };
    assert.equal(await targetState(laterPort), "ejected");
    await startUpstream("e-later", { PORT: String(laterPort) });
    await waitFor(
      "the ejected target to pass its check",
      async () => ((await targetState(laterPort)) === "ready" ? true : undefined),
      {
        timeoutMs: 5_000,
      },
    );
    const answers = new Set<string>();
    for (let i = 0; i < 40; i++) answers.add((await http(router.port, "/id", { headers: HOST })).body);
    assert.deepEqual([...answers].sort(), ["e-later", "e-live"]);
  });

  test("an instance that does not answer in time gets a 504 page", async () => {
    const slowRouter = await startRouter({ args: ["--response-timeout", "300"] });
    const upstream = await startUpstream("t-a");
    await slowRouter.client.putApp({ name: "shop", domains: ["shop.test"] });
    await slowRouter.client.swap("shop", pool("t1", "v1", [upstream]));
    const reply = await http(slowRouter.port, "/slow?ms=2000", { headers: HOST });
    assert.equal(reply.status, 504);
    assert.match(reply.body, /Gateway timeout/);
    assert.equal(reply.headers["x-baton-error"], "BATON_ROUTER_UPSTREAM_TIMEOUT");
  });
});
