import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { freePort } from "../src/supervisor/ports.js";
import { cleanup, http, pool, type RouterProc, startRouter, startUpstream, untilHeld } from "./helpers.js";

describe("router: hold, don't fail", () => {
  let router: RouterProc;

  before(async () => {
    router = await startRouter();
  });
  after(cleanup);

  test("requests arriving before any Pool exists are held and succeed once one is swapped in", async () => {
    await router.client.putApp({ name: "first", domains: ["first.test"] });
    const held = Array.from({ length: 10 }, (_, i) =>
      http(router.port, `/id?n=${i}`, { headers: { host: "first.test" } }),
    );
    const upstream = await startUpstream("first-1");
    await untilHeld(router.client, "first", 10);
    await router.client.swap("first", pool("f1", "v1", [upstream]));
    for (const reply of await Promise.all(held)) {
      assert.equal(reply.status, 200);
      assert.equal(reply.body, "first-1");
    }
    const stats = await router.client.appStats("first");
    assert.equal(stats.held, 10);
    assert.equal(stats.heldNow, 0);
  });

  test("requests to an instance that is still booting are held until it listens", async () => {
    const port = await freePort();
    await router.client.putApp({ name: "boot", domains: ["boot.test"] });
    await router.client.swap("boot", {
      id: "b1",
      release: "v1",
      targets: [{ host: "127.0.0.1", port }],
      healthPath: "/health",
    });
    const booting = startUpstream("boot-1", { PORT: String(port), BOOT_DELAY_MS: "1000" });
    const replies = await Promise.all(
      Array.from({ length: 5 }, () => http(router.port, "/id", { headers: { host: "boot.test" }, body: undefined })),
    );
    await booting;
    for (const reply of replies) assert.equal(reply.status, 200);
  });

  test("a paused app holds requests until resumed", async () => {
    const upstream = await startUpstream("pause-1");
    await router.client.putApp({ name: "pause", domains: ["pause.test"] });
    await router.client.swap("pause", pool("pa1", "v1", [upstream]));
    await router.client.pause("pause");
    let settled = false;
    const reply = http(router.port, "/id", { headers: { host: "pause.test" } }).then((r) => {
      settled = true;
      return r;
    });
    await untilHeld(router.client, "pause", 1);
    assert.equal(settled, false, "request was answered while the app was paused");
    await router.client.resume("pause");
    assert.equal((await reply).status, 200);
  });

  test("after the hold timeout the client gets 503 with Retry-After", async () => {
    await router.client.putApp({ name: "empty", domains: ["empty.test"], holdTimeoutMs: 300 });
    const started = Date.now();
    const reply = await http(router.port, "/", { headers: { host: "empty.test" } });
    assert.ok(Date.now() - started >= 250, "answered before the hold timeout");
    assert.equal(reply.status, 503);
    assert.equal(reply.headers["retry-after"], "5");
    assert.equal(reply.headers["x-baton-error"], "BATON_ROUTER_HOLD_TIMEOUT");
    assert.equal((await router.client.appStats("empty")).holdTimeouts, 1);
  });

  test("maintenance mode answers 503 with the app's page and Retry-After, then turns off", async () => {
    const upstream = await startUpstream("m-1");
    await router.client.putApp({ name: "maint", domains: ["maint.test"] });
    await router.client.swap("maint", pool("m1", "v1", [upstream]));
    await router.client.setMaintenance("maint", { enabled: true, retryAfterS: 120, html: "<h1>Back soon</h1>" });
    const down = await http(router.port, "/", { headers: { host: "maint.test" } });
    assert.equal(down.status, 503);
    assert.equal(down.headers["retry-after"], "120");
    assert.equal(down.body, "<h1>Back soon</h1>");
    await router.client.setMaintenance("maint", { enabled: false, retryAfterS: 120 });
    assert.equal((await http(router.port, "/id", { headers: { host: "maint.test" } })).body, "m-1");
  });
});
