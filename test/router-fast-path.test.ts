// The router's fast path (src/router/fast/): plain bodiless GET and HEAD requests parsed and
// answered by the router itself, everything else handed to node:http at a request boundary. These
// look at the bytes on the wire, through a real `baton router` and a real instance process.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { FastPath } from "../src/router/fast/connection.js";
import { FastRequest, headersObject, parseRequestHead } from "../src/router/fast/request.js";
import { type ResponseHead, ResponseParser } from "../src/router/upstream/response-parser.js";
import { cleanup, type RouterProc, startRouter, startUpstream, type Upstream, untilInFlight } from "./helpers.js";

interface Answer {
  head: ResponseHead;
  body: string;
}

/** A client connection that reads responses off the wire with the router's own strict parser. */
class RawClient {
  readonly socket: Socket;
  private readonly parser: ResponseParser;
  private readonly answers: Answer[] = [];
  private waiting: Array<() => void> = [];
  private current: { head?: ResponseHead; chunks: Buffer[] } = { chunks: [] };
  private methods: string[] = [];
  closed = false;
  readonly ready: Promise<void>;

  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    this.ready = new Promise((resolve) => this.socket.once("connect", () => resolve()));
    this.parser = new ResponseParser({
      onHead: (head) => {
        this.current.head = head;
      },
      onBody: (chunk) => this.current.chunks.push(Buffer.from(chunk)),
      onComplete: () => {
        const { head, chunks } = this.current;
        this.answers.push({ head: head as ResponseHead, body: Buffer.concat(chunks).toString("utf8") });
        this.current = { chunks: [] };
        const method = this.methods.shift();
        if (method !== undefined) this.parser.expect(method);
        for (const wake of this.waiting.splice(0)) wake();
      },
    });
    this.socket.on("data", (data: Buffer) => this.parser.execute(data));
    this.socket.on("close", () => {
      this.closed = true;
      for (const wake of this.waiting.splice(0)) wake();
    });
    this.socket.on("error", () => undefined);
  }

  /** Send raw bytes carrying requests with these methods, in order. */
  send(text: string, methods: string[]): void {
    for (const method of methods) {
      if (this.parser.idle && this.methods.length === 0 && this.current.head === undefined) this.parser.expect(method);
      else this.methods.push(method);
    }
    this.socket.write(text, "latin1");
  }

  async responses(n: number, timeoutMs = 10_000): Promise<Answer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.answers.length < n) {
      if (this.closed) throw new Error(`connection closed after ${this.answers.length} of ${n} responses`);
      if (Date.now() > deadline) throw new Error(`${this.answers.length} of ${n} responses in ${timeoutMs} ms`);
      await Promise.race([new Promise<void>((resolve) => this.waiting.push(resolve)), sleep(100)]);
    }
    return this.answers.splice(0, n);
  }

  /** True once the connection closed, false if it is still open after `timeoutMs`. */
  untilClosed(timeoutMs = 5_000): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const limit = setTimeout(() => resolve(false), timeoutMs);
      this.socket.once("close", () => {
        clearTimeout(limit);
        resolve(true);
      });
    });
  }
}

const header = (answer: Answer, name: string): string | undefined => {
  const raw = answer.head.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === name) return raw[i + 1];
  return undefined;
};
const get = (path: string, extra = ""): string => `GET ${path} HTTP/1.1\r\nHost: shop.test\r\n${extra}\r\n`;

describe("router fast path", () => {
  let router: RouterProc;
  let upstream: Upstream;
  const clients: RawClient[] = [];
  const client = async (): Promise<RawClient> => {
    const c = new RawClient(router.port);
    clients.push(c);
    await c.ready;
    return c;
  };

  before(async () => {
    upstream = await startUpstream("u1");
    router = await startRouter({ args: ["--headers-timeout", "2000"] });
    await router.client.putApp({ name: "shop", domains: ["shop.test"] });
    await router.client.swap("shop", { id: "p1", release: "v1", targets: [upstream.target] });
  });
  after(async () => {
    for (const c of clients) c.socket.destroy();
    await cleanup();
  });

  test("keep-alive GETs on one connection: each answered in full, forwarded headers added, connection kept", async () => {
    const c = await client();
    for (let i = 0; i < 3; i++) {
      c.send(get("/headers", `X-Request-Id: req-${i}\r\n`), ["GET"]);
      const [answer] = (await c.responses(1)) as [Answer];
      assert.equal(answer.head.status, 200);
      assert.equal(header(answer, "connection"), "keep-alive");
      assert.equal(header(answer, "x-secret-hop"), undefined, "hop-by-hop headers named by Connection are stripped");
      const seen = JSON.parse(answer.body) as { rawHeaders: string[] };
      const names = seen.rawHeaders.filter((_, k) => k % 2 === 0).map((n) => n.toLowerCase());
      assert.ok(names.includes("x-forwarded-for") && names.includes("x-forwarded-proto"), names.join(","));
      assert.equal(seen.rawHeaders[seen.rawHeaders.indexOf("X-Request-Id") + 1], `req-${i}`);
    }
    assert.equal(c.closed, false);
  });

  test("pipelined GETs in one write are answered in order", async () => {
    const c = await client();
    c.send(get("/status?code=201") + get("/slow?ms=150") + get("/status?code=202"), ["GET", "GET", "GET"]);
    const answers = await c.responses(3);
    assert.deepEqual(
      answers.map((a) => [a.head.status, a.body]),
      [
        [201, "status 201"],
        [200, "slow u1"],
        [202, "status 202"],
      ],
    );
  });

  test("a POST with a body on a fast connection is handed to node:http and the connection goes on", async () => {
    const c = await client();
    c.send(get("/id"), ["GET"]);
    assert.equal((await c.responses(1))[0]?.body, "u1");
    const body = "x".repeat(3000);
    c.send(`POST /echo HTTP/1.1\r\nHost: shop.test\r\nContent-Length: ${body.length}\r\n\r\n${body}${get("/id")}`, [
      "POST",
      "GET",
    ]);
    const [posted, after] = (await c.responses(2)) as [Answer, Answer];
    assert.equal(posted.body, body);
    assert.equal(after.body, "u1");
  });

  test("a head split over two writes, and a malformed one, get node:http's answers", async () => {
    const c = await client();
    c.send("GET /id HTTP/1.1\r\nHo", ["GET"]);
    await sleep(50);
    c.send("st: shop.test\r\n\r\n", []);
    assert.equal((await c.responses(1))[0]?.body, "u1");
    const bad = await client();
    // Obsolete line folding: node:http refuses it with a 400 and closes.
    bad.send("GET /id HTTP/1.1\r\nHost: shop.test\r\nX-A: 1\r\n folded\r\n\r\n", ["GET"]);
    assert.equal((await bad.responses(1))[0]?.head.status, 400);
  });

  test("HEAD gets the head only; a body without length is sent chunked", async () => {
    const c = await client();
    c.send(`HEAD /id HTTP/1.1\r\nHost: shop.test\r\n\r\n${get("/stream?chunks=3&interval=20")}`, ["HEAD", "GET"]);
    const [head, streamed] = (await c.responses(2)) as [Answer, Answer];
    assert.equal(head.head.status, 200);
    assert.equal(head.body, "");
    assert.equal(header(streamed, "transfer-encoding"), "chunked");
    assert.match(streamed.body, /^chunk 0 \d+\nchunk 1 \d+\nchunk 2 \d+\n$/);
  });

  test("Connection: close is honoured: the answer says so and the router closes", async () => {
    const c = await client();
    c.send(get("/id", "Connection: close\r\n"), ["GET"]);
    const [answer] = (await c.responses(1)) as [Answer];
    assert.equal(header(answer, "connection"), "close");
    assert.equal(await c.untilClosed(), true);
  });

  test("a client that goes away mid-response releases the instance's side", async () => {
    const c = await client();
    c.send(get("/sse"), ["GET"]);
    await untilInFlight(router.client, "shop", 1);
    c.socket.destroy();
    const deadline = Date.now() + 5_000;
    let inFlight = 1;
    while (inFlight > 0 && Date.now() < deadline) {
      const { apps } = await router.client.stats();
      const shop = apps.find((a) => a.app === "shop");
      inFlight = shop?.releases.reduce((n, r) => n + r.inFlight, 0) ?? -1;
      if (inFlight > 0) await sleep(50);
    }
    assert.equal(inFlight, 0);
  });

  test("a connection that sends nothing is closed at the headers timeout", async () => {
    const c = await client();
    assert.equal(await c.untilClosed(6_000), true);
  });
});

describe("fast path request parsing", () => {
  test("takes plain GET and HEAD requests", () => {
    const head = parseRequestHead("GET /a?b=c HTTP/1.1\r\nhost: x\r\nAccept:  text/html \r\nConnection: Close");
    assert.deepEqual(head, {
      method: "GET",
      url: "/a?b=c",
      rawHeaders: ["host", "x", "Accept", "text/html", "Connection", "Close"],
      close: true,
    });
    assert.equal(parseRequestHead("HEAD / HTTP/1.1\r\nHost: x")?.method, "HEAD");
    assert.equal(parseRequestHead("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive")?.close, false);
  });

  test("leaves everything else to node:http", () => {
    for (const text of [
      "POST / HTTP/1.1\r\nHost: x",
      "get / HTTP/1.1\r\nHost: x",
      "GET / HTTP/1.0\r\nHost: x",
      "GET http://x/ HTTP/1.1\r\nHost: x",
      "GET * HTTP/1.1\r\nHost: x",
      "GET /a b HTTP/1.1\r\nHost: x",
      "GET /\u00e9 HTTP/1.1\r\nHost: x",
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0",
      "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked",
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade",
      "GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue",
      "GET / HTTP/1.1\r\nHost: x\r\n folded",
      "GET / HTTP/1.1\r\nHost : x",
      "GET / HTTP/1.1\r\nHost: x\nX-Bare-Lf: 1",
      "GET / HTTP/1.1\r\nHost: x\rX-Bare-Cr: 1",
      "GET / HTTP/1.1\r\nHost: x\r\nX-Obs: caf\u00e9",
      "GET / HTTP/1.1\r\nHost: x\r\nX-Nul: a\u0000b",
      "GET / HTTP/1.1\r\nHost: x\r\n: empty-name",
      "GET / HTTP/1.1\r\nHost: x\r\nNoColon",
      `GET / HTTP/1.1\r\nHost: x${"\r\nX: y".repeat(100)}`,
      "GET / HTTP/1.1\r\nAccept: */*",
      "GET / HTTP/1.1\r\nHost: x\r\nHost: y",
    ]) {
      assert.equal(parseRequestHead(text), null, JSON.stringify(text));
    }
  });

  test("req.headers merges duplicates as node:http does", () => {
    const headers = headersObject([
      "Host",
      "a",
      "host",
      "b",
      "Cookie",
      "x=1",
      "cookie",
      "y=2",
      "Accept",
      "text/html",
      "accept",
      "*/*",
      "Set-Cookie",
      "s=1",
      "set-cookie",
      "t=2",
    ]);
    assert.equal(headers.host, "a");
    assert.equal(headers.cookie, "x=1; y=2");
    assert.equal(headers.accept, "text/html, */*");
    assert.deepEqual(headers["set-cookie"], ["s=1", "t=2"]);
    const req = new FastRequest("GET", "/", ["X-Baton-Release", "v2"], undefined as never);
    assert.equal(req.headers["x-baton-release"], "v2");
    assert.equal(req.readableEnded, true);
  });
});

describe("fast path connections (in process)", () => {
  test("a closing connection whose client stops reading is cut at the keep-alive timeout, not kept forever", async () => {
    const body = Buffer.alloc(16 * 1024 * 1024, 120);
    const server = createServer();
    new FastPath(
      server,
      { keepAliveTimeoutMs: 300, headersTimeoutMs: 5_000, maxHeaderBytes: 16 * 1024 },
      (_req, res) => {
        res.writeHead(200, "OK", ["Content-Length", String(body.length)]);
        res.end(body);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const socket = connect((server.address() as AddressInfo).port, "127.0.0.1");
      socket.on("error", () => undefined);
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      // Read nothing for well past the timeout; the response (16 MB) cannot fit in the socket buffers.
      socket.pause();
      socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      await sleep(1_500);
      let received = 0;
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.on("data", (chunk: Buffer) => {
        received += chunk.length;
      });
      socket.resume();
      await Promise.race([closed, sleep(10_000)]);
      assert.ok(socket.destroyed || socket.readableEnded, "the connection should have been closed");
      assert.ok(
        received < body.length,
        `the whole response (${received} bytes) still came: the connection was not cut`,
      );
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
