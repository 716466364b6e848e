// Warm-up traffic (src/deploy/warmup.ts): every request sent, counted, and connections renewed
// along the way, so the code an instance optimizes during warm-up has seen connections open and
// close, as it will at the switch when the router opens its own.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { warmUp } from "../src/deploy/warmup.js";

test("warm-up sends every request, counts the failures, and opens a new connection every 20 requests", async (t) => {
  let connections = 0;
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    const key = `${req.method} ${req.url} ${req.headers["x-baton-warmup"]}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    let body = "";
    req.on("data", (c: Buffer) => {
      body += String(c);
    });
    req.on("end", () => {
      res.writeHead(req.url === "/broken" ? 500 : 200).end(body);
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;

  const result = await warmUp(port, {
    requests: [
      { method: "GET", path: "/", body: undefined },
      { method: "POST", path: "/api", body: '{"a":1}' },
    ],
    count: 100,
    concurrency: 2,
    timeoutMs: 5_000,
  });
  assert.deepEqual(result, { ok: 100, failed: 0 });
  assert.deepEqual(Object.fromEntries(seen), { "GET / 1": 50, "POST /api 1": 50 });
  // Two workers of about 50 requests each, each on a new connection after its 20th and 40th.
  assert.ok(connections >= 5 && connections <= 7, `${connections} connections for 100 requests`);

  const broken = await warmUp(port, {
    requests: [{ method: "GET", path: "/broken", body: undefined }],
    count: 10,
    concurrency: 1,
    timeoutMs: 5_000,
  });
  assert.deepEqual(broken, { ok: 0, failed: 10 });
});

test("warm-up sends the Host it is given, counts the router's own answers and timeouts as failed", async (t) => {
  const hosts = new Set<string>();
  const server = createServer((req, res) => {
    hosts.add(String(req.headers.host));
    if (req.url === "/hang") return; // never answered: the request times out
    if (req.url === "/router-said") res.setHeader("x-baton-error", "BATON_NO_ROUTE");
    res.writeHead(200).end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  const spec = { count: 4, concurrency: 2, timeoutMs: 200 };

  assert.deepEqual(await warmUp(port, { ...spec, requests: [{ method: "GET", path: "/", body: undefined }] }), {
    ok: 4,
    failed: 0,
  });
  assert.deepEqual([...hosts], [`127.0.0.1:${port}`]);
  hosts.clear();
  const routed = {
    ...spec,
    hostHeader: "shop.example",
    requests: [{ method: "HEAD", path: "/router-said", body: undefined }],
  };
  assert.deepEqual(await warmUp(port, routed), { ok: 0, failed: 4 });
  assert.deepEqual([...hosts], ["shop.example"]);
  assert.deepEqual(await warmUp(port, { ...spec, requests: [{ method: "GET", path: "/hang", body: undefined }] }), {
    ok: 0,
    failed: 4,
  });
  // Nothing listening: every request fails at once instead of waiting for its timeout.
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const started = Date.now();
  assert.deepEqual(
    await warmUp(port, { ...spec, timeoutMs: 10_000, requests: [{ method: "GET", path: "/", body: undefined }] }),
    { ok: 0, failed: 4 },
  );
  assert.ok(Date.now() - started < 5_000);
});
