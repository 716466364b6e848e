#!/usr/bin/env node
// Where the p99 tail right after a deploy's switch comes from: the router, or the new instances
// themselves. After each deploy of examples/hello (under 2 connections of quick load through the
// router), a second load goes straight to one new instance; both are cut into the first 0.5 s and
// the next 1.5 s. Run with different warm-up counts to see how much of it is the new instances'
// JIT:
//
//   node bench/deploy/after-switch.mjs [--deploys 4] [--warmup-count 300]
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { ROOT_APPS } from "../baton.mjs";
import { readOptions } from "../options.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = join(ROOT, "dist/src/cli/main.js");
const { LoadRun } = await import(join(ROOT, "dist/src/load/load.js"));
const { ApiClient } = await import(join(ROOT, "dist/src/api/client.js"));
const { freePort } = await import(join(ROOT, "dist/src/supervisor/ports.js"));

const USAGE = "usage: node bench/deploy/after-switch.mjs [--deploys 4] [--warmup-count 300]";
const { int } = readOptions({
  usage: USAGE,
  fail: (message) => {
    console.error(`after-switch: ${message}`);
    process.exit(1);
  },
  options: { deploys: { type: "string", default: "4" }, "warmup-count": { type: "string", default: "300" } },
});
const deploys = int("deploys", 1, 20);
const warmupCount = int("warmup-count", 1, 100_000);

// examples/hello with the warm-up count asked for.
const app = mkdtempSync(join(tmpdir(), "baton-after-switch-app-"));
cpSync(join(ROOT, "examples/hello"), app, { recursive: true });
const appJson = JSON.parse(readFileSync(join(app, "app.json"), "utf8"));
appJson.baton.warmup.count = warmupCount;
// No bake: the deploy ends right after the switch, which is the moment measured here.
appJson.baton.bakeMs = 0;
writeFileSync(join(app, "app.json"), JSON.stringify(appJson));

const home = mkdtempSync(join(tmpdir(), "baton-after-switch-"));
const port = await freePort();
const cli = (...args) => execFileSync(process.execPath, [MAIN, ...args, "--home", home], { timeout: 60_000 });
// As root (these machines), the example app runs as root, explicitly.
cli("server", "--detach", "--port", String(port), ...ROOT_APPS);
const api = ApiClient.local(home);
const deploy = () => api.stream("POST", "/v1/apps/hello/deploys", { source: { dir: app } }, () => {});
const requests = [{ path: "/" }, { method: "POST", path: "/api/echo", body: '{"order":42}' }];
const fmt = (w) => `${w.p99Ms.toFixed(1).padStart(5)} ms (${String(w.requests).padStart(4)})`;
const rows = [];
try {
  await deploy();
  const load = new LoadRun({
    port,
    hostHeader: "hello.localhost",
    connections: 2,
    maxDurationMs: 300_000,
    maxRequests: 1e7,
    requests,
  }).start();
  await sleep(4_000);
  const steady = load.window(1_000, load.now());
  for (let i = 0; i < deploys; i++) {
    const result = await deploy();
    if (result.status !== "succeeded") throw new Error(`deploy ${i + 1}: ${JSON.stringify(result.error)}`);
    const { instances } = await api.get("/v1/apps/hello/instances");
    const direct = new LoadRun({
      port: instances[0].port,
      connections: 1,
      maxDurationMs: 2_000,
      maxRequests: 1e6,
      requests,
    }).start();
    const t0 = load.now();
    await sleep(2_000);
    await direct.stop();
    rows.push({
      router: [load.window(t0, t0 + 500), load.window(t0 + 500, t0 + 2_000)],
      direct: [direct.window(0, 500), direct.window(500, 2_000)],
    });
  }
  await load.stop();
  console.log(`warm-up count ${warmupCount} per instance; steady p99 through the router: ${fmt(steady)}`);
  console.log(
    "p99 (requests) after each deploy   router 0-0.5 s      router 0.5-2 s      direct 0-0.5 s      direct 0.5-2 s",
  );
  for (const [i, r] of rows.entries()) {
    console.log(`deploy ${i + 1}                          ${[...r.router, ...r.direct].map(fmt).join("   ")}`);
  }
} finally {
  try {
    cli("shutdown");
  } catch {
    // Already down.
  }
  rmSync(home, { recursive: true, force: true });
  rmSync(app, { recursive: true, force: true });
}
