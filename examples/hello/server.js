// baton's example app: a plain Node web server with the habits of a real one. It boots slowly
// (BOOT_DELAY_MS, default 1500) and its first requests are slow (COLD_REQUESTS, default 20, each
// COLD_EXTRA_MS slower) the way a JIT, lazy requires and empty caches make a real app slow. It
// shuts down gracefully on SIGTERM: stops accepting, finishes what is in flight, then exits.
import { createServer } from "node:http";

const port = Number(process.env.PORT ?? 5000);
const release = process.env.BATON_RELEASE ?? process.env.RELEASE ?? "dev";
const bootDelayMs = Number(process.env.BOOT_DELAY_MS ?? 1500);
const coldRequests = Number(process.env.COLD_REQUESTS ?? 20);
const coldExtraMs = Number(process.env.COLD_EXTRA_MS ?? 150);

let served = 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function handle(req, res) {
  served++;
  // Which release answered: handy in a browser's network tab during a canary (and for bench/deploy).
  res.setHeader("x-release", release);
  if (served <= coldRequests && req.url !== "/health") await sleep(coldExtraMs);
  const url = new URL(req.url ?? "/", "http://app");
  if (url.pathname === "/health") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
  } else if (url.pathname === "/api/echo" && req.method === "POST") {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ release, bytes: body.length }));
  } else if (url.pathname === "/slow") {
    await sleep(Math.min(Number(url.searchParams.get("ms") ?? 500), 10_000));
    res.writeHead(200, { "content-type": "text/plain" }).end(`slow ${release}\n`);
  } else if (url.pathname === "/events") {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const timer = setInterval(() => res.write(`data: ${JSON.stringify({ release, t: Date.now() })}\n\n`), 500);
    res.on("close", () => clearInterval(timer));
  } else if (url.pathname === "/") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><title>hello</title><h1>Hello from release ${release}</h1>\n`);
  } else {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  }
}

await sleep(bootDelayMs);
const server = createServer((req, res) => {
  handle(req, res).catch((error) => {
    res.writeHead(500).end(String(error));
  });
});
server.keepAliveTimeout = 5_000;
server.listen(port, "127.0.0.1", () => console.log(`hello ${release} listening on ${port}`));

process.on("SIGTERM", () => {
  console.log(`hello ${release} stopping`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
