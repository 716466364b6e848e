import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/core/wait.js";
import { LoadRun } from "../src/load/load.js";
import { ResponseParser } from "../src/router/upstream/response-parser.js";
import { cleanup, http, pool, type RouterProc, startRouter, startUpstream } from "./helpers.js";

const HOST = { host: "shop.test" };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client that sends `head`, then `drip` every `everyMs` until the router closes on it (bounded). */
interface SlowClient {
  /** Everything the router sent, once the connection closed. */
  closed: Promise<string>;
  /** Resolves once `head` is in the kernel's hands (true), or the socket failed first (false). */
  sent: Promise<boolean>;
  stop(): void;
}

function slowClient(port: number, head: string, drip: string, everyMs: number, maxDrips = 100): SlowClient {
  const socket: Socket = connect(port, "127.0.0.1");
  let received = "";
  let drips = 0;
  let timer: NodeJS.Timeout | undefined;
  let headSent: (ok: boolean) => void = () => {};
  const sent = new Promise<boolean>((resolve) => {
    headSent = resolve;
  });
  socket.on("connect", () => {
    if (head !== "") socket.write(head, (error) => headSent(error == null));
    else headSent(true);
    if (drip === "") return;
    timer = setInterval(() => {
      if (++drips > maxDrips || !socket.writable) {
        clearInterval(timer);
        return;
      }
      socket.write(drip);
    }, everyMs);
  });
  socket.on("data", (d: Buffer) => {
    received += String(d);
  });
  const closed = new Promise<string>((resolve) => {
    socket.on("close", () => {
      clearInterval(timer);
      headSent(false);
      resolve(received);
    });
    socket.on("error", () => undefined);
  });
  return {
    closed,
    sent,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

async function allClosed(clients: SlowClient[], what: string): Promise<string[]> {
  const answers = await Promise.race([Promise.all(clients.map((c) => c.closed)), sleep(15_000).then(() => undefined)]);
  for (const c of clients) c.stop();
  assert.ok(answers !== undefined, `${what}: the router did not close every slow connection within 15 s`);
  return answers;
}

describe("router: slow clients (slowloris) are timed out and tie up no instance", () => {
  let router: RouterProc;

  before(async () => {
    router = await startRouter({ args: ["--headers-timeout", "1000", "--body-timeout", "1000"] });
    await router.client.putApp({ name: "shop", domains: ["shop.test"] });
    const upstreams = await Promise.all([startUpstream("s-a"), startUpstream("s-b")]);
    await router.client.swap("shop", pool("p1", "v1", upstreams, "/health"));
  });
  after(cleanup);

  const inFlight = async (on: RouterProc = router) =>
    (await on.client.appStats("shop")).releases.reduce((sum, r) => sum + r.inFlight, 0);
  const seenByInstances = async (id: string) => {
    // Two instances: ask until each has answered once (balancing picks either).
    const counts = new Map<string, number>();
    await waitFor(
      "both instances to report",
      async () => {
        const reply = await http(router.port, `/seen?id=${id}`, { headers: HOST });
        counts.set(String(reply.headers["x-instance"]), Number(reply.body));
        return counts.size === 2 ? true : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 1 },
    );
    return [...counts.values()].reduce((a, b) => a + b, 0);
  };
  const load = () =>
    new LoadRun({
      port: router.port,
      hostHeader: "shop.test",
      connections: 8,
      maxDurationMs: 20_000,
      maxRequests: 200_000,
      requests: [{ path: "/id" }, { method: "POST", path: "/echo", body: "x".repeat(512) }],
    }).start();

  test("clients that trickle their headers, or send nothing, are closed at the headers timeout with a 408", async (t) => {
    const running = load();
    const trickling = Array.from({ length: 40 }, (_, i) =>
      slowClient(
        router.port,
        `GET /id HTTP/1.1\r\nHost: shop.test\r\nX-Request-Id: slow-head-${i}\r\n`,
        "X-A: b\r\n",
        200,
      ),
    );
    const silent = Array.from({ length: 20 }, () => slowClient(router.port, "", "", 0));
    const answers = await allClosed(trickling, "trickled headers");
    await allClosed(silent, "silent connections");
    const total = await running.stop();
    t.diagnostic(
      `injected: 40 clients sending one header line every 200 ms and 20 that send nothing (headers timeout 1 s); load alongside: ${total.requests} requests, ${total.failed} failed`,
    );
    for (const answer of answers) {
      assert.match(answer, /^HTTP\/1\.1 408 /, answer.slice(0, 200));
      assert.match(answer, /BATON_ROUTER_CLIENT_TIMEOUT/);
      assert.match(answer, /Connection: close/i);
    }
    for (let i = 0; i < 40; i += 13) assert.equal(await seenByInstances(`slow-head-${i}`), 0);
    assert.ok(total.requests > 100, `too few requests to prove anything: ${total.requests}`);
    assert.equal(total.failed, 0, `failed: ${JSON.stringify(total.failures)}`);
  });

  test("a client that pauses inside a small body holds no instance connection and gets a 408 at the body timeout", async (t) => {
    const running = load();
    const clients = Array.from({ length: 30 }, (_, i) =>
      slowClient(
        router.port,
        `POST /record HTTP/1.1\r\nHost: shop.test\r\nX-Request-Id: slow-body-${i}\r\nContent-Length: 100\r\n\r\nb`,
        "b",
        3_000,
      ),
    );
    // Every head and first body byte written, then a moment for the router to read them: the
    // look below must find the 30 requests waiting inside the router, not still on their way.
    assert.ok((await Promise.all(clients.map((c) => c.sent))).every(Boolean), "a slow client could not send");
    await sleep(300);
    const total = await running.stop();
    // The load is stopped for this look: nothing may be in flight while 30 bodies are incomplete.
    assert.equal(await inFlight(), 0, "an incomplete body reached an instance");
    const answers = await allClosed(clients, "paused bodies");
    t.diagnostic(
      `injected: 30 POSTs declaring 100 bytes, sending 1 and pausing 3 s (body timeout 1 s); load alongside: ${total.requests} requests, ${total.failed} failed`,
    );
    for (const answer of answers) {
      assert.match(answer, /^HTTP\/1\.1 408 /, answer.slice(0, 200));
      assert.match(answer, /BATON_ROUTER_CLIENT_TIMEOUT/);
    }
    for (let i = 0; i < 30; i += 7) assert.equal(await seenByInstances(`slow-body-${i}`), 0);
    assert.ok(total.requests > 20, `too few requests to prove anything: ${total.requests}`);
    assert.equal(total.failed, 0, `failed: ${JSON.stringify(total.failures)}`);
  });

  test("a slow but steady small body is forwarded whole, once, when it is complete", async () => {
    // Its own router with a body timeout no pause here comes near: the look at the router's
    // counters half-way through is an admin call, slow on a busy machine, and it pauses the body.
    const steady = await startRouter({ args: ["--body-timeout", "20000"] });
    await steady.client.putApp({ name: "shop", domains: ["shop.test"] });
    await steady.client.swap("shop", pool("p1", "v1", [await startUpstream("steady")], "/health"));
    const body = "0123456789";
    let sent = 0;
    const socket = connect(steady.port, "127.0.0.1");
    // The echo's body as the client decodes it: how the instance or the router cut it into
    // reads and chunks is theirs to choose.
    let received = "";
    let status = 0;
    let complete: () => void = () => {};
    const echoed = new Promise<void>((resolve) => {
      complete = resolve;
    });
    const parser = new ResponseParser({
      onHead: (head) => {
        status = head.status;
      },
      onBody: (chunk) => {
        received += chunk.toString("latin1");
      },
      onComplete: () => complete(),
    });
    parser.expect("POST");
    socket.on("data", (d: Buffer) => parser.execute(d));
    await new Promise<void>((resolve) => socket.on("connect", () => resolve()));
    socket.write(
      `POST /echo HTTP/1.1\r\nHost: shop.test\r\nX-Request-Id: steady-body\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    for (const ch of body) {
      socket.write(ch);
      sent++;
      if (sent === 5) assert.equal(await inFlight(steady), 0, "half a body reached an instance");
      await sleep(150);
    }
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no complete echo after 5 s; got: status ${status}, body ${JSON.stringify(received)}`)),
        5_000,
      );
    });
    try {
      await Promise.race([echoed, limit]);
    } finally {
      clearTimeout(timer);
    }
    socket.destroy();
    assert.equal(status, 200);
    assert.equal(received, body);
    assert.equal((await http(steady.port, "/seen?id=steady-body", { headers: HOST })).body, "1");
  });

  test("a large upload that stalls past the body timeout gets a 408 and its instance connection is cut", async () => {
    const socket = connect(router.port, "127.0.0.1");
    let received = "";
    socket.on("data", (d: Buffer) => {
      received += String(d);
    });
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.on("connect", () => resolve()));
    // Past the 64 KiB read before routing: it streams to an instance, then stops.
    socket.write(
      `POST /record HTTP/1.1\r\nHost: shop.test\r\nX-Request-Id: stalled-upload\r\nContent-Length: 200000\r\n\r\n`,
    );
    socket.write(Buffer.alloc(80_000, 0x61));
    await waitFor("the upload on an instance", async () => ((await inFlight()) === 1 ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 20,
    });
    await Promise.race([closed, sleep(10_000)]);
    socket.destroy();
    assert.match(received, /^HTTP\/1\.1 408 /, received.slice(0, 200));
    await waitFor("the instance connection released", async () => ((await inFlight()) === 0 ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 20,
    });
    assert.equal(await seenByInstances("stalled-upload"), 1);
    // The router is still serving.
    assert.equal((await http(router.port, "/id", { headers: HOST })).status, 200);
  });
});
