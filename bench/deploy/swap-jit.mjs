#!/usr/bin/env node
// What a swap costs the JIT: a router under steady load (2 connections of GET / and POST
// /api/echo to examples/hello) swaps its Pool, and the requests of the next second are cut into
// quarter seconds against the steady state before it. With --trace-deopt on the router and on the
// instance swapped to, it counts the optimized functions each threw away after the swap.
// Variants, each on a fresh router:
//   same, no admin reads    swap to a new Pool holding the same warm instance; no admin request
//                           during the load before it (a router nobody watches)
//   same, GET reads         the same, with GET /v1/stats and /v1/table every 100 ms before it
//   same, POST /v1/read     the same, with POST /v1/read every 100 ms (what baton server does
//                           every second)
//   new, keep-alive warm-up swap to a new instance warmed with --warmup-count requests that all
//                           reuse their first connections (warm-up before 2026-11-29)
//   new, renewed warm-up    the same, with warm-up's connection renewed every 20 requests
//   new, prepared           the same, with the router's prepare (connections opened) before the swap
//   new, canary 5% first    the same, then 5% of the load on the new instance for a second
//   new, half through router  half the warm-up straight, half through the router to the prepared
//                           Pool by its warm-up host (what a deploy does now)
//
//   node bench/deploy/swap-jit.mjs [--rounds 2] [--warmup-count 3000]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { readOptions } from "../options.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = join(ROOT, "dist/src/cli/main.js");
const APP = join(ROOT, "examples/hello/server.js");
const { LoadRun } = await import(join(ROOT, "dist/src/load/load.js"));
const { warmUp } = await import(join(ROOT, "dist/src/deploy/warmup.js"));
const { freePort } = await import(join(ROOT, "dist/src/supervisor/ports.js"));
const { RouterClient } = await import(join(ROOT, "dist/src/router/client.js"));
const { ROUTER_NODE_FLAGS } = await import(join(ROOT, "dist/src/router/options.js"));
const { waitFor } = await import(join(ROOT, "dist/src/core/wait.js"));

const USAGE = "usage: node bench/deploy/swap-jit.mjs [--rounds 2] [--warmup-count 3000]";
const { int } = readOptions({
  usage: USAGE,
  fail: (message) => {
    console.error(`swap-jit: ${message}`);
    process.exit(1);
  },
  options: { rounds: { type: "string", default: "2" }, "warmup-count": { type: "string", default: "3000" } },
});
const rounds = int("rounds", 1, 10);
const warmupCount = int("warmup-count", 1, 100_000);

const REQUESTS = [{ path: "/" }, { method: "POST", path: "/api/echo", body: '{"order":42}' }];
const WARMUP = REQUESTS.map((r) => ({ method: r.method ?? "GET", path: r.path, body: r.body }));
const QUARTERS = 4;
const VARIANTS = [
  { name: "same, no admin reads", target: "same", prime: "none" },
  { name: "same, GET reads", target: "same", prime: "get" },
  { name: "same, POST /v1/read", target: "same", prime: "post" },
  { name: "new, keep-alive warm-up", target: "new", prime: "post", requestsPerConnection: Number.POSITIVE_INFINITY },
  { name: "new, renewed warm-up", target: "new", prime: "post" },
  { name: "new, prepared", target: "new", prime: "post", prepare: true },
  { name: "new, canary 5% first", target: "new", prime: "post", prepare: true, canaryFirst: 5 },
  { name: "new, half through router", target: "new", prime: "post", prepare: true, throughRouter: true },
];

const children = new Set();
/** A process whose stdout lines containing "bailout" are counted from `mark()` on. */
function start(args, env = {}) {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, ...env } });
  children.add(child);
  const counter = { child, deopts: 0, counting: false };
  child.stdout.on("data", (d) => {
    if (counter.counting) counter.deopts += String(d).split("bailout").length - 1;
  });
  return counter;
}
function stopAll() {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
}
process.on("SIGINT", () => {
  stopAll();
  process.exit(130);
});

async function startApp(trace) {
  const port = await freePort();
  const app = start([...(trace ? ["--trace-deopt"] : []), APP], {
    PORT: String(port),
    BOOT_DELAY_MS: "0",
    COLD_REQUESTS: "0",
  });
  await waitFor(
    "the app to listen",
    () =>
      warmUp(port, { requests: WARMUP.slice(0, 1), count: 1, concurrency: 1, timeoutMs: 500 }).then((r) =>
        r.ok === 1 ? true : undefined,
      ),
    { timeoutMs: 10_000 },
  );
  return { port, app };
}

async function once(variant) {
  const home = mkdtempSync(join(tmpdir(), "baton-swap-jit-"));
  try {
    const port = await freePort();
    const router = start([
      ...ROUTER_NODE_FLAGS,
      "--trace-deopt",
      MAIN,
      "router",
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "--home",
      home,
    ]);
    const client = new RouterClient(join(home, "router.sock"));
    await waitFor(
      "the router",
      () =>
        client.health().then(
          (h) => (h.ok ? true : undefined),
          () => undefined,
        ),
      { timeoutMs: 10_000 },
    );
    await client.putApp({ name: "hello", domains: ["hello.localhost"], isDefault: true });
    const a = await startApp(false);
    await client.swap("hello", { id: "a1", release: "a", targets: [{ host: "127.0.0.1", port: a.port }] });
    const load = new LoadRun({
      port,
      hostHeader: "hello.localhost",
      connections: 2,
      maxDurationMs: 60_000,
      maxRequests: 1e7,
      requests: REQUESTS,
    }).start();
    await sleep(3_000);
    for (let i = 0; i < 20 && variant.prime !== "none"; i++) {
      if (variant.prime === "get") await Promise.all([client.stats(), client.table()]);
      else await client.read();
      await sleep(100);
    }
    // Steady state: the two seconds before anything else starts (a new instance's warm-up takes CPU).
    const steady = load.window(load.now() - 2_000, load.now());
    let next = { host: "127.0.0.1", port: a.port };
    let b;
    const nextPool = { id: "a2", release: "b", targets: [] };
    if (variant.target === "new") {
      b = await startApp(true);
      next = { host: "127.0.0.1", port: b.port };
      nextPool.targets = [next];
      const spec = { requests: WARMUP, count: warmupCount, concurrency: 4, timeoutMs: 5_000 };
      const direct = variant.throughRouter ? Math.ceil(warmupCount / 2) : warmupCount;
      await warmUp(b.port, { ...spec, count: direct, requestsPerConnection: variant.requestsPerConnection });
      if (variant.throughRouter) {
        const host = "warmup-swap-jit.baton.invalid";
        await client.prepare("hello", nextPool, host);
        await warmUp(port, { ...spec, count: warmupCount - direct, hostHeader: host });
      }
    } else nextPool.targets = [next];
    if (variant.prepare) await client.prepare("hello", nextPool);
    if (variant.canaryFirst !== undefined) {
      await client.setCanary("hello", nextPool, variant.canaryFirst, false);
      await sleep(1_000);
    }
    await sleep(1_000);
    const t0 = load.now();
    router.counting = true;
    if (b !== undefined) b.app.counting = true;
    await client.swap("hello", nextPool);
    await sleep(QUARTERS * 250 + 100);
    const quarters = Array.from({ length: QUARTERS }, (_, i) => load.window(t0 + i * 250, t0 + (i + 1) * 250));
    await load.stop();
    return { steady, quarters, routerDeopts: router.deopts, appDeopts: b?.app.deopts ?? null };
  } finally {
    stopAll();
    rmSync(home, { recursive: true, force: true });
  }
}

const median = (xs) => {
  const s = xs.filter((x) => x !== null).sort((p, q) => p - q);
  if (s.length === 0) return null;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

try {
  const results = new Map(VARIANTS.map((v) => [v.name, []]));
  // Interleaved: each round runs every variant once, so a noisy minute hits them all.
  for (let r = 1; r <= rounds; r++) for (const v of VARIANTS) results.get(v.name).push(await once(v));
  console.log(`${rounds} round(s), medians; warm-up ${warmupCount} requests for a new instance`);
  console.log(
    "variant                   deopts router/app   steady p99   each 250 ms after the swap: p99 ms (rate vs steady)",
  );
  for (const v of VARIANTS) {
    const runs = results.get(v.name);
    const q = Array.from({ length: QUARTERS }, (_, i) => {
      const p99 = median(runs.map((x) => x.quarters[i].p99Ms));
      const rate = median(runs.map((x) => x.quarters[i].requests / 250 / (x.steady.requests / 2_000)));
      return `${p99.toFixed(1).padStart(4)} (${rate.toFixed(2)}x)`;
    });
    const app = median(runs.map((x) => x.appDeopts));
    const deopts = `${median(runs.map((x) => x.routerDeopts))}/${app ?? "-"}`;
    console.log(
      `${v.name.padEnd(26)}${deopts.padStart(10)}   ${median(runs.map((x) => x.steady.p99Ms))
        .toFixed(1)
        .padStart(10)} ms   ${q.join("  ")}`,
    );
  }
} finally {
  stopAll();
}
