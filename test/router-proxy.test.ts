import assert from "node:assert/strict";
import { type AddressInfo, connect, createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { cleanup, http, pool, type RouterProc, startRouter, startUpstream, type Upstream } from "./helpers.js";

describe("router: proxying HTTP/1.1", () => {
  let router: RouterProc;
  let shop: Upstream;
  let blog: Upstream;

  before(async () => {
    [router, shop, blog] = await Promise.all([startRouter(), startUpstream("shop-1"), startUpstream("blog-1")]);
    await router.client.putApp({ name: "shop", domains: ["shop.test", "*.shop.test"], isDefault: true });
    await router.client.putApp({ name: "blog", domains: ["blog.test"] });
    await router.client.swap("shop", pool("shop-p1", "v1", [shop]));
    await router.client.swap("blog", pool("blog-p1", "v1", [blog]));
  });
  after(cleanup);

  test("routes by Host header, wildcard domains, and the default app catches the rest", async () => {
    assert.equal((await http(router.port, "/id", { headers: { host: "blog.test" } })).body, "blog-1");
    assert.equal((await http(router.port, "/id", { headers: { host: "BLOG.test:8080" } })).body, "blog-1");
    assert.equal((await http(router.port, "/id", { headers: { host: "eu.shop.test" } })).body, "shop-1");
    assert.equal((await http(router.port, "/id", { headers: { host: "unknown.test" } })).body, "shop-1");
  });

  test("unknown host without a default app gets a 404 page, HTML or JSON by Accept", async () => {
    await router.client.putApp({ name: "shop", domains: ["shop.test", "*.shop.test"], isDefault: false });
    try {
      const html = await http(router.port, "/", { headers: { host: "nobody.test", accept: "text/html" } });
      assert.equal(html.status, 404);
      assert.match(String(html.headers["content-type"]), /text\/html/);
      assert.match(html.body, /No app here/);
      const json = await http(router.port, "/", { headers: { host: "nobody.test", accept: "application/json" } });
      assert.equal(json.status, 404);
      assert.equal(JSON.parse(json.body).error.code, "BATON_ROUTER_NO_APP");
    } finally {
      await router.client.putApp({ name: "shop", domains: ["shop.test", "*.shop.test"], isDefault: true });
    }
  });

  test("adds X-Forwarded-* and X-Request-Id, keeps a client's request id, strips hop-by-hop headers", async () => {
    const reply = await http(router.port, "/headers", {
      headers: {
        host: "shop.test",
        "x-request-id": "abc-123",
        "x-forwarded-for": "203.0.113.9",
        "x-forwarded-proto": "https-spoofed",
        connection: "keep-alive, x-drop-me",
        "x-drop-me": "hop",
        "keep-alive": "timeout=5",
        te: "trailers",
      },
    });
    const { rawHeaders } = JSON.parse(reply.body) as { rawHeaders: string[] };
    const seen = new Map<string, string[]>();
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = (rawHeaders[i] as string).toLowerCase();
      seen.set(name, [...(seen.get(name) ?? []), rawHeaders[i + 1] as string]);
    }
    assert.deepEqual(seen.get("x-request-id"), ["abc-123"]);
    // The client is no trusted proxy: its X-Forwarded-* are dropped, the router's view is sent.
    assert.deepEqual(seen.get("x-forwarded-for"), ["127.0.0.1"]);
    assert.deepEqual(seen.get("x-forwarded-proto"), ["http"]);
    assert.deepEqual(seen.get("x-forwarded-host"), ["shop.test"]);
    assert.deepEqual(seen.get("host"), ["shop.test"]);
    assert.equal(seen.has("x-drop-me"), false);
    assert.equal(seen.has("te"), false);
    assert.equal(seen.has("keep-alive"), false);
    // Response side: the instance's Connection-listed header is dropped too.
    assert.equal(reply.headers["x-secret-hop"], undefined);
    assert.equal(reply.headers["x-instance"], "shop-1");

    const generated = JSON.parse((await http(router.port, "/headers", { headers: { host: "shop.test" } })).body);
    const idIndex = (generated.rawHeaders as string[]).findIndex((h) => h.toLowerCase() === "x-request-id");
    assert.match(generated.rawHeaders[idIndex + 1], /^[0-9a-f-]{36}$/);
  });

  test("from a trusted proxy, X-Forwarded-For is extended and its X-Forwarded-Proto/-Host kept", async () => {
    const behindLb = await startRouter({ args: ["--trusted-proxy", "10.0.0.0/8,127.0.0.1"] });
    const upstream = await startUpstream("lb-1");
    await behindLb.client.putApp({ name: "shop", domains: ["shop.test"] });
    await behindLb.client.swap("shop", pool("lb", "v1", [upstream]));
    const reply = await http(behindLb.port, "/headers", {
      headers: {
        host: "shop.test",
        "x-forwarded-for": "203.0.113.9",
        "x-forwarded-proto": "https",
        "x-forwarded-host": "shop.example.com",
      },
    });
    const { rawHeaders } = JSON.parse(reply.body) as { rawHeaders: string[] };
    const value = (name: string) =>
      rawHeaders.filter((_, i) => i % 2 === 1 && (rawHeaders[i - 1] as string).toLowerCase() === name);
    assert.deepEqual(value("x-forwarded-for"), ["203.0.113.9, 127.0.0.1"]);
    assert.deepEqual(value("x-forwarded-proto"), ["https"]);
    assert.deepEqual(value("x-forwarded-host"), ["shop.example.com"]);
  });

  test("a trusted proxy that is not an address or range stops the router with the reason", async () => {
    await assert.rejects(startRouter({ args: ["--trusted-proxy", "lb.internal"] }), /not an IP address or CIDR range/);
  });

  test("streams request and response bodies both ways (a 5 MB upload echoed back)", async () => {
    const body = Buffer.alloc(5 * 1024 * 1024, "baton");
    const reply = await http(router.port, "/echo", { method: "POST", headers: { host: "shop.test" }, body });
    assert.equal(reply.status, 200);
    assert.equal(Buffer.byteLength(reply.body), body.length);
    // The upstream connection that carried it (paused and resumed for the slower client) goes
    // back to the pool and must serve the next request at once.
    const next = await http(router.port, "/id", { headers: { host: "shop.test" }, timeoutMs: 5_000 });
    assert.equal(next.body, "shop-1");
  });

  test("an instance that answers before reading the whole body: the answer is relayed, the connection not reused", async () => {
    const reply = await http(router.port, "/early", {
      method: "POST",
      headers: { host: "blog.test" },
      body: Buffer.alloc(512 * 1024, "x"),
    }).catch((error: Error) => ({ status: -1, body: error.message, headers: {} }));
    // The client may see the 413 or, if the upload was cut, an error; never a hang or a 2xx.
    assert.ok(reply.status === 413 || reply.status === -1, `got ${reply.status}`);
    for (let i = 0; i < 5; i++) {
      assert.equal(
        (await http(router.port, "/id", { headers: { host: "blog.test" }, timeoutMs: 5_000 })).body,
        "blog-1",
      );
    }
  });

  test("a streamed response reaches the client chunk by chunk, not buffered", async () => {
    const arrivals: number[] = [];
    let received = "";
    await new Promise<void>((resolve, reject) => {
      const socket = connect(router.port, "127.0.0.1", () => {
        socket.write("GET /stream?chunks=4&interval=300 HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n");
      });
      socket.on("data", (chunk) => {
        received += String(chunk);
        if (String(chunk).includes("chunk ")) arrivals.push(Date.now());
      });
      socket.on("end", resolve);
      socket.on("error", reject);
    });
    assert.ok(
      arrivals.length >= 3,
      `expected chunks to arrive separately, got ${arrivals.length} data events: ${received.slice(0, 500)}`,
    );
    assert.ok(
      (arrivals.at(-1) as number) - (arrivals[0] as number) >= 600,
      "chunks arrived together: the router buffered",
    );
  });

  test("keeps upstream connections alive: 200 sequential requests use few instance connections", async () => {
    const before = Number((await http(router.port, "/connections", { headers: { host: "blog.test" } })).body);
    for (let i = 0; i < 200; i++) await http(router.port, "/id", { headers: { host: "blog.test" } });
    const afterCount = Number((await http(router.port, "/connections", { headers: { host: "blog.test" } })).body);
    assert.ok(afterCount - before <= 3, `router opened ${afterCount - before} upstream connections for 200 requests`);
  });

  test("the admin API's POST /v1/read answers the stats and the table in one call", async () => {
    await http(router.port, "/id", { headers: { host: "shop.test" } });
    const { stats, table } = await router.client.read();
    assert.deepEqual(table.apps.map((a) => a.name).sort(), ["blog", "shop"]);
    const shopStats = stats.apps.find((a) => a.app === "shop");
    assert.ok((shopStats?.releases.find((r) => r.release === "v1")?.requests ?? 0) > 0, JSON.stringify(shopStats));
  });

  test("a malformed request (Content-Length with Transfer-Encoding) is refused and never forwarded", async () => {
    const raw = await rawRequest(
      router.port,
      "POST /record HTTP/1.1\r\nHost: shop.test\r\nX-Request-Id: smuggle-1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.equal((await http(router.port, "/seen?id=smuggle-1", { headers: { host: "shop.test" } })).body, "0");
  });

  test("smuggling-prone and malformed requests are refused with 400 and never reach an instance", async () => {
    const cases: Array<[string, string]> = [
      ["obs-fold", "X-Folded: one\r\n two\r\n"],
      ["control byte in a value", "X-Bad: on\u0001e\r\n"],
      ["space before the colon", "X-Spaced : one\r\n"],
      ["two different Content-Lengths", "Content-Length: 1\r\nContent-Length: 2\r\n"],
      ["Transfer-Encoding not ending in chunked", "Transfer-Encoding: chunked, gzip\r\n"],
    ];
    for (const [name, headers] of cases) {
      const id = `malformed-${name.replaceAll(" ", "-")}`;
      const raw = await rawRequest(
        router.port,
        `POST /record HTTP/1.1\r\nHost: shop.test\r\nX-Request-Id: ${id}\r\n${headers}\r\nab`,
      );
      assert.match(raw, /^HTTP\/1\.1 400 /, name);
      assert.equal((await http(router.port, `/seen?id=${id}`, { headers: { host: "shop.test" } })).body, "0", name);
    }
    const bareLf = await rawRequest(router.port, "GET /record HTTP/1.1\nHost: shop.test\nX-Request-Id: bare-lf\n\n");
    assert.match(bareLf, /^HTTP\/1\.1 400 /, "bare LF line endings");
    assert.equal((await http(router.port, "/seen?id=bare-lf", { headers: { host: "shop.test" } })).body, "0");
  });

  test("oversized request headers get 431", async () => {
    const raw = await rawRequest(
      router.port,
      `GET / HTTP/1.1\r\nHost: shop.test\r\nX-Big: ${"a".repeat(40_000)}\r\n\r\n`,
    );
    assert.match(raw, /^HTTP\/1\.1 431 /);
  });

  test("an app whose only instance refuses connections is held, then answered 503 with the reason", async () => {
    await router.client.putApp({ name: "ghost", domains: ["ghost.test"] });
    await router.client.swap("ghost", { id: "ghost-p1", release: "v1", targets: [{ host: "127.0.0.1", port: 1 }] });
    await router.client.putApp({ name: "ghost", domains: ["ghost.test"], holdTimeoutMs: 0 });
    const reply = await http(router.port, "/", { headers: { host: "ghost.test", accept: "application/json" } });
    assert.equal(reply.status, 503);
    assert.equal(JSON.parse(reply.body).error.code, "BATON_ROUTER_HOLD_TIMEOUT");
  });
});

describe("router: a misbehaving instance", () => {
  after(cleanup);

  test("a malformed response (conflicting Content-Length) becomes a 502, and the router keeps serving", async () => {
    const bad = createServer((socket) => {
      socket.on("data", () => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"));
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => bad.listen(0, "127.0.0.1", resolve));
    const router = await startRouter();
    const good = await startUpstream("good");
    await router.client.putApp({ name: "bad", domains: ["bad.test"] });
    await router.client.swap("bad", {
      id: "bad-1",
      release: "v1",
      targets: [{ host: "127.0.0.1", port: (bad.address() as AddressInfo).port }],
    });
    await router.client.putApp({ name: "good", domains: ["good.test"] });
    await router.client.swap("good", pool("good-1", "v1", [good]));
    const reply = await http(router.port, "/", { method: "POST", headers: { host: "bad.test" }, body: "x" });
    assert.equal(reply.status, 502);
    assert.equal(reply.headers["x-baton-error"], "BATON_ROUTER_UPSTREAM_RESET");
    assert.equal((await http(router.port, "/id", { headers: { host: "good.test" } })).body, "good");
    bad.close();
  });
});

function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(text));
    let data = "";
    socket.on("data", (d) => {
      data += String(d);
    });
    socket.on("end", () => resolve(data));
    socket.on("close", () => resolve(data));
    socket.on("error", (e) => (data === "" ? reject(e) : resolve(data)));
  });
}
