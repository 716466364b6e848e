import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { waitFor } from "../src/core/wait.js";
import { LoadRun } from "../src/load/load.js";
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

describe("router: swap and drain", () => {
  let router: RouterProc;
  let v1: Upstream[];
  let v2: Upstream[];
  let serial = 0;
  let live: { id: string; group: Upstream[] };

  /** Swap to `group` as a new Pool; returns the id of the Pool handed back. */
  const swapTo = async (group: Upstream[], release: string): Promise<string> => {
    const id = `p${++serial}`;
    const { previous } = await router.client.swap("shop", pool(id, release, group));
    live = { id, group };
    assert.ok(previous !== null);
    return previous.id;
  };

  before(async () => {
    router = await startRouter();
    v1 = await Promise.all([startUpstream("v1-a"), startUpstream("v1-b")]);
    v2 = await Promise.all([startUpstream("v2-a"), startUpstream("v2-b")]);
    await router.client.putApp({ name: "shop", domains: ["shop.test"] });
    await router.client.swap("shop", pool("p0", "v1", v1));
    live = { id: "p0", group: v1 };
  });
  after(cleanup);

  test("swapping Pools back and forth under concurrent load fails zero requests", async () => {
    const load = new LoadRun({
      port: router.port,
      hostHeader: "shop.test",
      connections: 32,
      maxDurationMs: 20_000,
      maxRequests: 400_000,
      requests: [
        { path: "/id" },
        { method: "POST", path: "/echo", body: "x".repeat(2048) },
        { path: "/slow?ms=200" },
        { method: "PUT", path: "/echo", body: "put body" },
      ],
    }).start();
    for (let i = 0; i < 6; i++) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      const [group, release] = i % 2 === 0 ? [v2, "v2"] : [v1, "v1"];
      const handedBack = await swapTo(group, release);
      const report = await router.client.drain(handedBack, { timeoutMs: 5_000, streamCloseWindowMs: 200 });
      assert.equal(report.requestsCut, 0);
    }
    const total = await load.stop();
    assert.ok(total.requests > 500, `load too small to prove anything: ${total.requests}`);
    assert.equal(total.failed, 0, `failed requests: ${JSON.stringify(total.failures)}`);
  });

  test("after a swap, new requests reach only the new Pool", async () => {
    const next = live.group === v1 ? v2 : v1;
    await swapTo(next, "vx");
    for (let i = 0; i < 20; i++) {
      const { body } = await http(router.port, "/id", { headers: HOST });
      assert.ok(
        next.some((u) => u.id === body),
        `${body} answered after the swap`,
      );
    }
  });

  test("drain lets an in-flight request finish; one still running at the drain timeout is cut with 502", async () => {
    const slow = http(router.port, "/slow?ms=1200", { headers: HOST });
    const tooSlow = http(router.port, "/slow?ms=8000", { headers: { ...HOST, accept: "application/json" } });
    await untilInFlight(router.client, "shop", 2);
    const handedBack = await swapTo(live.group === v1 ? v2 : v1, "vd");
    const report = await router.client.drain(handedBack, { timeoutMs: 2_000, streamCloseWindowMs: 100 });
    const [finished, cut] = await Promise.all([slow, tooSlow]);
    assert.equal(finished.status, 200);
    assert.match(finished.body, /^slow /);
    assert.equal(cut.status, 502);
    assert.equal(JSON.parse(cut.body).error.code, "BATON_ROUTER_UPSTREAM_RESET");
    assert.equal(report.inFlightAtStart, 2);
    assert.equal(report.requestsCut, 1);
  });

  test("WebSockets on a drained Pool get close frame 1001, staggered, and the instance sees a clean close", async () => {
    const sockets = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${router.port}/ws`, { headers: HOST });
        const closed = new Promise<{ code: number; at: number }>((resolve) =>
          ws.once("close", (code) => resolve({ code, at: Date.now() })),
        );
        const greeting = await new Promise<string>((resolve, reject) => {
          ws.once("message", (data) => resolve(String(data)));
          ws.once("error", reject);
        });
        return { ws, closed, greeting };
      }),
    );
    const drainedGroup = live.group;
    for (const { greeting } of sockets) assert.match(greeting, /^hello from /);
    // The connection works both ways through the router.
    const first = sockets[0]?.ws as WebSocket;
    first.send("ping");
    assert.match(await new Promise<string>((resolve) => first.once("message", (d) => resolve(String(d)))), /: ping$/);

    const handedBack = await swapTo(live.group === v1 ? v2 : v1, "vw");
    const report = await router.client.drain(handedBack, { timeoutMs: 1_000, streamCloseWindowMs: 1_500 });
    const closes = await Promise.all(sockets.map((s) => s.closed));
    for (const close of closes)
      assert.equal(close.code, 1001, "expected close frame 1001 (going away), not a reset (1006)");
    const times = closes.map((c) => c.at);
    assert.ok(Math.max(...times) - Math.min(...times) >= 200, "closes were not staggered over the window");
    assert.equal(report.streamsAtStart, 8);
    assert.equal(report.streamsCut, 0);
    // The instances saw the client's close frame, not an abnormal closure.
    let codes: number[] = [];
    for (const upstream of drainedGroup)
      codes = codes.concat(JSON.parse((await http(upstream.port, "/close-codes")).body));
    assert.equal(codes.length, 8);
    for (const code of codes) assert.notEqual(code, 1006);
  });

  test("a server-sent-events stream on a drained Pool ends cleanly at an event boundary", async () => {
    const received: string[] = [];
    const ended = new Promise<string>((resolve) => {
      const req = request({ host: "127.0.0.1", port: router.port, path: "/sse", headers: HOST }, (res) => {
        assert.match(String(res.headers["content-type"]), /text\/event-stream/);
        res.on("data", (chunk: Buffer) => received.push(String(chunk)));
        res.on("end", () => resolve("end"));
        res.on("aborted", () => resolve("aborted"));
        res.on("error", () => resolve("error"));
      });
      req.end();
    });
    await waitFor("the first event", () => (received.length > 0 ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 10,
    });
    const handedBack = await swapTo(live.group === v1 ? v2 : v1, "vs");
    const report = await router.client.drain(handedBack, { timeoutMs: 1_000, streamCloseWindowMs: 300 });
    assert.equal(await ended, "end");
    const text = received.join("");
    assert.match(text, /data: .* event 0\n\n/);
    assert.ok(text.endsWith("\n\n"), "stream ended in the middle of an event");
    assert.equal(report.streamsAtStart, 1);
    assert.equal(report.streamsCut, 0);
  });
});
