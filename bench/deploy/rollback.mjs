#!/usr/bin/env node
// How fast `baton rollback` moves every user back, end to end: from the moment the CLI starts to
// the last request the rolled-back release answers, under load through the router. Two kinds:
//   standby  during the bake, the old instances still run: one router swap, no boot;
//   boot     after the bake (bakeMs 0 here), the previous release is booted through the pipeline
//            (what a platform without standby does), for comparison in the same run.
//
//   node bench/deploy/rollback.mjs [--rounds 5]
import { execFile, execFileSync } from "node:child_process";
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
const { waitFor } = await import(join(ROOT, "dist/src/core/wait.js"));

const USAGE = "usage: node bench/deploy/rollback.mjs [--rounds 5]";
const { int } = readOptions({
  usage: USAGE,
  fail: (message) => {
    console.error(`bench rollback: ${message}`);
    process.exit(1);
  },
  options: { rounds: { type: "string", default: "5" } },
});
const rounds = int("rounds", 1, 50);
const GOAL_MS = 1_000;

const app = mkdtempSync(join(tmpdir(), "baton-rollback-app-"));
cpSync(join(ROOT, "examples/hello"), app, { recursive: true });
const appJson = JSON.parse(readFileSync(join(app, "app.json"), "utf8"));
writeFileSync(join(app, "app.json"), JSON.stringify(appJson));

const home = mkdtempSync(join(tmpdir(), "baton-rollback-"));
const port = await freePort();
const cliSync = (...args) => execFileSync(process.execPath, [MAIN, ...args, "--home", home], { timeout: 60_000 });
/** The CLI as a user runs it (a new node process), timed on the wall clock. */
const cli = (...args) =>
  new Promise((resolve) => {
    const started = Date.now();
    execFile(process.execPath, [MAIN, ...args, "--home", home], { timeout: 120_000 }, (error, stdout) =>
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, started, ended: Date.now() }),
    );
  });
// As root (these machines), the example app runs as root, explicitly.
cliSync("server", "--detach", "--port", String(port), ...ROOT_APPS);
const api = ApiClient.local(home);
const deploy = (bakeMs) => api.stream("POST", "/v1/apps/hello/deploys", { source: { dir: app }, bakeMs }, () => {});
const phase = async () => (await api.get("/v1/apps/hello")).deploy?.phase;

const rows = [];
let load;
try {
  await deploy(0);
  load = new LoadRun({
    port,
    hostHeader: "hello.localhost",
    connections: 4,
    maxDurationMs: 900_000,
    maxRequests: 1e8,
    tagHeader: "x-release",
    requests: [{ path: "/" }, { method: "POST", path: "/api/echo", body: '{"order":42}' }],
  }).start();
  const epoch = Date.now() - load.now();
  /** The last request the given release answered that started at or after `from` (wall clock). */
  const lastOn = (release, from) => {
    let start = null;
    let end = null;
    for (const s of load.samples) {
      const at = s.startMs + epoch;
      if (s.tag !== release || at < from) continue;
      start = Math.max(start ?? 0, at);
      end = Math.max(end ?? 0, at + s.latencyMs);
    }
    return { start, end };
  };
  await sleep(2_000);

  for (let round = 1; round <= rounds; round++) {
    for (const kind of ["standby", "boot"]) {
      const running = deploy(kind === "standby" ? 60_000 : 0);
      let newRelease;
      if (kind === "standby") {
        await waitFor("the bake", async () => ((await phase()) === "bake" ? true : undefined), {
          timeoutMs: 60_000,
          intervalMs: 50,
        });
        newRelease = `v${(await api.get("/v1/apps/hello")).currentVersion}`;
      } else {
        const done = await running;
        if (done.status !== "succeeded") throw new Error(`deploy: ${JSON.stringify(done.error)}`);
        newRelease = `v${done.version}`;
      }
      await sleep(1_000); // the new release serves for a moment
      const from = Date.now();
      const result = await cli("rollback", "--app", "hello", "--json");
      if (result.code !== 0) throw new Error(`rollback exited ${result.code}: ${result.stdout}`);
      if (kind === "standby") await running;
      await sleep(500);
      const last = lastOn(newRelease, from);
      const window = load.window(from - epoch - 1_000, Date.now() - epoch);
      rows.push({
        round,
        kind,
        cliMs: result.ended - result.started,
        lastStartMs: last.start === null ? 0 : last.start - from,
        lastEndMs: last.end === null ? 0 : last.end - from,
        failed: window.failed,
      });
    }
  }
} finally {
  await load?.stop();
  try {
    cliSync("shutdown");
  } catch {
    // Already down.
  }
  rmSync(home, { recursive: true, force: true });
  rmSync(app, { recursive: true, force: true });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const pad = (v, n) => String(v).padStart(n);
console.log(
  "| round | rollback | CLI ms | last request to the rolled-back release ends, ms after CLI start | failed |",
);
console.log("|---|---|---:|---:|---:|");
for (const r of rows)
  console.log(`| ${r.round} | ${r.kind} | ${pad(r.cliMs, 6)} | ${pad(Math.round(r.lastEndMs), 6)} | ${r.failed} |`);
for (const kind of ["standby", "boot"]) {
  const mine = rows.filter((r) => r.kind === kind);
  console.log(
    `| median | ${kind} | ${pad(median(mine.map((r) => r.cliMs)), 6)} | ${pad(Math.round(median(mine.map((r) => r.lastEndMs))), 6)} | ${mine.reduce((n, r) => n + r.failed, 0)} |`,
  );
}
const standby = median(rows.filter((r) => r.kind === "standby").map((r) => r.lastEndMs));
const boot = median(rows.filter((r) => r.kind === "boot").map((r) => r.lastEndMs));
console.log(
  `\nGoal: standby rollback moves every user back in under ${GOAL_MS} ms end to end: ${standby < GOAL_MS ? "ok" : "MISSED"} (${Math.round(standby)} ms; boot rollback ${Math.round(boot)} ms, ${(boot / Math.max(1, standby)).toFixed(1)}x slower).`,
);
