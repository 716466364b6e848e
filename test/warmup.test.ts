// Warm-up traffic (src/supervisor/warmup.ts): every request sent, counted, and connections renewed
// along the way, so the code an instance optimizes during warm-up has seen connections open and
// close, as it will at the switch when the router opens its own.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { warmUp } from "../src/supervisor/warmup.js";

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
