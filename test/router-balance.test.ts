import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/core/wait.js";
import {
  cleanup,
  http,
  pool,
  type RouterProc,
  startRouter,
  startUpstream,
  type Upstream,
  untilInFlight,
} from "./helpers.js";

const HOST = { host: "shop.test" };

describe("router: balancing, canary weights, counts", () => {
  let router: RouterProc;
  let a: Upstream;
  let b: Upstream;

  before(async () => {
    [router, a, b] = await Promise.all([startRouter(), startUpstream("a"), startUpstream("b")]);
    await router.client.putApp({ name: "shop", domains: ["shop.test"] });
    await router.client.swap("shop", pool("p1", "v1", [a, b]));
  });
  after(cleanup);

  test("least outstanding requests: while one instance is busy, new requests go to the idle one", async () => {
    const long = http(router.port, "/slow?ms=1500", { headers: HOST });
    await untilInFlight(router.client, "shop", 1);
    const answers: string[] = [];
    for (let i = 0; i < 20; i++) answers.push((await http(router.port, "/id", { headers: HOST })).body);
    const busy = (await long).body.replace("slow ", "");
    assert.equal(answers.filter((id) => id === busy).length, 0, `round robin would have sent half to ${busy}`);
  });

  test("ties are broken at random: both instances get a fair share of sequential requests", async () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const id = (await http(router.port, "/id", { headers: HOST })).body;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const id of ["a", "b"]) {
      const n = counts.get(id) ?? 0;
      assert.ok(n > 60 && n < 140, `${id} got ${n} of 200`);
    }
  });

  test("a canary Pool gets its weight of new clients; a cookie keeps a client on one Pool; a header forces one", async () => {
    const c = await startUpstream("c");
    await router.client.setCanary("shop", pool("canary-1", "v2", [c]), 20, false);
    let toCanary = 0;
    for (let i = 0; i < 400; i++) if ((await http(router.port, "/id", { headers: HOST })).body === "c") toCanary++;
    assert.ok(toCanary > 40 && toCanary < 130, `canary got ${toCanary} of 400 at weight 20`);

    await router.client.setCanary("shop", pool("canary-1", "v2", [c]), 50, true);
    const first = await http(router.port, "/id", { headers: HOST });
    const cookie = String(first.headers["set-cookie"]?.[0] ?? "").split(";")[0] as string;
    assert.match(cookie, /^baton_pool=/);
    for (let i = 0; i < 30; i++) {
      const reply = await http(router.port, "/id", { headers: { ...HOST, cookie: `theme=dark; ${cookie}` } });
      assert.equal(reply.body === "c", first.body === "c", "a sticky client switched Pools");
      assert.equal(reply.headers["set-cookie"], undefined);
    }
    for (let i = 0; i < 10; i++) {
      assert.equal((await http(router.port, "/id", { headers: { ...HOST, "x-baton-release": "v2" } })).body, "c");
    }
    // Promote: the canary becomes active with its Targets; the old active Pool is handed back.
    const { previous } = await router.client.swap("shop", pool("canary-1", "v2", [c]));
    assert.equal(previous?.id, "p1");
    await router.client.drain("p1", { timeoutMs: 1_000 });
    for (let i = 0; i < 10; i++) assert.equal((await http(router.port, "/id", { headers: HOST })).body, "c");
    await router.client.swap("shop", pool("p2", "v1", [a, b]));
  });

  test("prepare opens connections to a Pool's Targets before its swap; the first requests use them", async () => {
    const c = await startUpstream("c");
    // Each direct question opens one connection of its own (agent: false): count them too.
    let asked = 0;
    const accepted = async () => {
      asked++;
      return Number((await http(c.port, "/connections")).body);
    };
    const before = await accepted();
    const { connections } = await router.client.prepare("shop", pool("p-prepared", "v3", [c]));
    assert.ok(connections >= 2, `prepare opened ${connections} connections`);
    await waitFor(
      "the prepared connections",
      async () => ((await accepted()) - before - (asked - 1) >= connections ? true : undefined),
      {
        timeoutMs: 5_000,
        intervalMs: 20,
      },
    );
    const opened = (await accepted()) - before - (asked - 1);
    assert.equal(opened, connections, "prepare routes nothing and opens exactly what it said");
    const swapped = await router.client.swap("shop", pool("p-prepared", "v3", [c]));
    if (swapped.previous !== null) await router.client.drain(swapped.previous.id, { timeoutMs: 1_000 });
    for (let i = 0; i < connections; i++) assert.equal((await http(router.port, "/id", { headers: HOST })).body, "c");
    assert.equal((await accepted()) - before - (asked - 1), connections, "the requests reused prepared connections");
    const { previous } = await router.client.swap("shop", pool("p3", "v1", [a, b]));
    if (previous !== null) await router.client.drain(previous.id, { timeoutMs: 1_000 });
  });

  test("a prepared Pool with a warm-up host gets that host's requests only, counted apart; after the swap its connections serve users", async () => {
    const d = await startUpstream("d");
    const warmupHost = "warmup-test.baton.invalid";
    const activeId = async () => (await router.client.table()).apps.find((x) => x.name === "shop")?.active?.id;
    const activeBefore = await activeId();
    const prepared = await router.client.prepare("shop", pool("p-warm", "v4", [d]), warmupHost);
    assert.equal(prepared.warmupHost, warmupHost);
    const statsBefore = await router.client.appStats("shop");
    for (let i = 0; i < 10; i++) {
      assert.equal((await http(router.port, "/id", { headers: { host: warmupHost } })).body, "d");
      assert.notEqual(
        (await http(router.port, "/id", { headers: HOST })).body,
        "d",
        "a user's request reached the prepared pool",
      );
    }
    // The instance sees the app's own domain, not the private warm-up name: an app that checks
    // Host answers warm-up as it answers users.
    const seen = JSON.parse((await http(router.port, "/headers", { headers: { host: warmupHost } })).body) as {
      rawHeaders: string[];
    };
    const header = (name: string) => seen.rawHeaders[seen.rawHeaders.findIndex((h) => h.toLowerCase() === name) + 1];
    assert.equal(header("host"), "shop.test");
    assert.equal(header("x-forwarded-host"), "shop.test");
    // The app's domains changed while its next release warms up: warm-up follows them.
    await router.client.putApp({ name: "shop", domains: ["www.shop.test", "shop.test"] });
    const seenAfter = JSON.parse((await http(router.port, "/headers", { headers: { host: warmupHost } })).body) as {
      rawHeaders: string[];
    };
    assert.equal(
      seenAfter.rawHeaders[seenAfter.rawHeaders.findIndex((h) => h.toLowerCase() === "host") + 1],
      "www.shop.test",
    );
    await router.client.putApp({ name: "shop", domains: ["shop.test"] });
    const statsAfter = await router.client.appStats("shop");
    const requests = (stats: typeof statsAfter) => stats.releases.reduce((n, r) => n + r.requests, 0);
    assert.equal(requests(statsAfter) - requests(statsBefore), 10, "warm-up requests counted in the app's stats");
    assert.equal(
      statsAfter.releases.find((r) => r.release === "v4"),
      undefined,
      "the prepared release has stats before it took a user's request",
    );
    assert.equal(await activeId(), activeBefore, "prepare changed routing");
    const shop = async () => (await router.client.table()).apps.find((x) => x.name === "shop");
    assert.equal((await shop())?.prepared?.id, "p-warm");

    // Only a name under baton.invalid (which no app can serve) is a warm-up host.
    await assert.rejects(
      router.client.prepare("shop", pool("p-other", "v5", [d]), "shop.test"),
      /under baton\.invalid/,
    );
    await assert.rejects(
      router.client.prepare("shop", pool("p-other", "v5", [d]), "not a host!"),
      /under baton\.invalid/,
    );
    // Again with the same pool and host: fine (it only opens connections).
    assert.equal((await router.client.prepare("shop", pool("p-warm", "v4", [d]), warmupHost)).warmupHost, warmupHost);

    // Promoted by the swap: the same connections serve users; the warm-up host no longer routes.
    const connectionsBefore = Number((await http(d.port, "/connections")).body);
    const { previous } = await router.client.swap("shop", pool("p-warm", "v4", [d]));
    for (let i = 0; i < 5; i++) assert.equal((await http(router.port, "/id", { headers: HOST })).body, "d");
    assert.equal(
      Number((await http(d.port, "/connections")).body) - connectionsBefore,
      1, // the /connections question's own connection
      "the swap opened new connections instead of promoting the prepared pool",
    );
    assert.equal((await shop())?.prepared, null, "the swap left the pool prepared");
    const stale = await http(router.port, "/id", { headers: { host: warmupHost } });
    assert.equal(stale.status, 404, "the warm-up host still routes after the swap");
    if (previous !== null) await router.client.drain(previous.id, { timeoutMs: 1_000 });
    const back = await router.client.swap("shop", pool("p1-back", "v1", [a, b]));
    if (back.previous !== null) await router.client.drain(back.previous.id, { timeoutMs: 1_000 });
  });

  test("unprepare drops a prepared Pool: its warm-up host stops routing, its connections close", async () => {
    const e = await startUpstream("e");
    const warmupHost = "warmup-dropped.baton.invalid";
    await router.client.prepare("shop", pool("p-dropped", "v6", [e]), warmupHost);
    assert.equal((await http(router.port, "/id", { headers: { host: warmupHost } })).body, "e");
    const { dropped } = await router.client.unprepare("shop");
    assert.equal(dropped?.id, "p-dropped");
    assert.equal((await http(router.port, "/id", { headers: { host: warmupHost } })).status, 404);
    await waitFor(
      "the dropped pool's connections to close",
      async () => (Number((await http(e.port, "/open")).body) <= 1 ? true : undefined),
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    assert.equal((await router.client.unprepare("shop")).dropped, null, "a second unprepare found a pool");
  });

  test("counts per release: status classes, latency histogram, in-flight", async () => {
    const before = (await router.client.appStats("shop")).releases.find((r) => r.release === "v1");
    for (let i = 0; i < 7; i++) await http(router.port, "/status?code=503", { headers: HOST });
    for (let i = 0; i < 5; i++) await http(router.port, "/status?code=404", { headers: HOST });
    for (let i = 0; i < 9; i++) await http(router.port, "/id", { headers: HOST });
    const after = (await router.client.appStats("shop")).releases.find((r) => r.release === "v1");
    assert.ok(before !== undefined && after !== undefined);
    assert.equal(after.statusClasses["5xx"] - before.statusClasses["5xx"], 7);
    assert.equal(after.statusClasses["4xx"] - before.statusClasses["4xx"], 5);
    assert.equal(after.statusClasses["2xx"] - before.statusClasses["2xx"], 9);
    assert.equal(after.requests - before.requests, 21);
    const histogramTotal = after.latency.counts.reduce((x, y) => x + y, 0);
    assert.equal(histogramTotal, after.requests);
    assert.equal(after.inFlight, 0);
    assert.ok(after.latency.p99Ms > 0);
  });
});
