#!/usr/bin/env node
// The router's latency at one fixed request rate, beside the upstream directly and the Node TCP
// relay (the floor), with what goes with a tail: CPU per request split into user and system time,
// the proxy's main-thread context switches, how busy the whole machine was, and the router's own
// latency histogram (parse to response end). `--baton-b DIR` adds a second baton build (another
// checkout, built) so two versions are compared in one interleaved run. See README.md.
//
// It is the by-hand probe of docs/architecture.md ("What the tail at a fixed rate is not") made
// repeatable; bench:router's half-load phase stays the published figure.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { readOptions } from "../options.mjs";
import { CLK_TCK, median, runWrk, statFields } from "./measure.mjs";
import { Processes, startBaton, startNodeRelay, startUpstreams } from "./proxies.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SCRIPT = fileURLToPath(new URL("fixed-rate.lua", import.meta.url));
const DIRECT = "direct to upstream";

const USAGE = `usage: node bench/router/fixed-rate.mjs [--rate R] [--connections C] [--rounds N] [--duration S]
  --rate R         requests per second sent to every target (default 15000)
  --connections C  wrk connections (default 64)
  --rounds N       interleaved rounds (default 3); tables show medians
  --duration S     seconds per measured run (default 10), after a 2 s warm-up run
  --baton-b DIR    also run the router of another built checkout (DIR/dist/src/cli/main.js)
Needs wrk and nginx (\`npm run bench:router\` installs them from Debian). About
rounds x targets x (duration + 3) seconds.`;

function fail(message) {
  console.error(`bench:router:fixed-rate: ${message}`);
  process.exit(2);
}

function options() {
  const { int, values } = readOptions({
    usage: USAGE,
    fail,
    options: {
      rate: { type: "string", default: "15000" },
      connections: { type: "string", default: "64" },
      rounds: { type: "string", default: "3" },
      duration: { type: "string", default: "10" },
      "baton-b": { type: "string" },
    },
  });
  return {
    rate: int("rate", 100, 200_000),
    connections: int("connections", 1, 1024),
    rounds: int("rounds", 1, 20),
    durationS: int("duration", 1, 120),
    batonB: values["baton-b"] === undefined ? undefined : resolve(values["baton-b"]),
  };
}

/** utime and stime (ticks) of a process, all threads: fields 14 and 15. */
function cpu(pid) {
  const f = statFields(pid);
  return { user: Number(f[11]), sys: Number(f[12]) };
}

/** Voluntary and involuntary context switches of a process's main thread. */
function switches(pid) {
  const text = readFileSync(`/proc/${pid}/task/${pid}/status`, "utf8");
  const get = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? Number.NaN);
  return { voluntary: get("voluntary_ctxt_switches"), involuntary: get("nonvoluntary_ctxt_switches") };
}

/** Busy and total jiffies of the whole machine (every CPU), from /proc/stat's first line. */
function machine() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** The router's latency histogram (summed over releases) for the bench app. */
async function histogram(client) {
  const stats = await client.appStats("bench");
  const first = stats.releases[0];
  if (first === undefined) return { bucketsMs: [], counts: [] };
  const counts = first.latency.counts.map((_, i) => stats.releases.reduce((n, r) => n + (r.latency.counts[i] ?? 0), 0));
  return { bucketsMs: first.latency.bucketsMs, counts };
}

/** Upper bound of the bucket holding quantile q of the counts added between two histograms. */
function quantileBetween(before, after, q) {
  const counts = after.counts.map((c, i) => c - (before.counts[i] ?? 0));
  const n = counts.reduce((a, b) => a + b, 0);
  if (n === 0) return null;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i];
    if (seen >= q * n) return after.bucketsMs[i] === -1 ? Number.POSITIVE_INFINITY : after.bucketsMs[i];
  }
  return null;
}

async function measure(processes, target, opts) {
  const url = `http://127.0.0.1:${target.port}/`;
  const run = (durationS) =>
    runWrk({
      url,
      connections: opts.connections,
      durationS,
      script: SCRIPT,
      scriptArgs: [opts.rate],
      track: (c, n) => processes.track(c, n),
    });
  await run(2); // warm-up, thrown away
  await sleep(500);
  const pid = target.pid;
  const before = { machine: machine(), cpu: pid && cpu(pid), sw: pid && switches(pid) };
  const hist = target.client && (await histogram(target.client));
  const wrk = await run(opts.durationS);
  const after = { machine: machine(), cpu: pid && cpu(pid), sw: pid && switches(pid) };
  const histAfter = target.client && (await histogram(target.client));
  const requests = wrk.requests;
  const perRequestUs = (ticks) => (ticks / CLK_TCK / requests) * 1e6;
  return {
    target: target.name,
    requestsPerSec: wrk.requestsPerSec,
    p50Ms: wrk.p50Ms,
    p99Ms: wrk.p99Ms,
    errors: wrk.non2xx + Object.values(wrk.socketErrors).reduce((a, b) => a + b, 0),
    machineBusyPct: (100 * (after.machine.busy - before.machine.busy)) / (after.machine.total - before.machine.total),
    userUs: pid ? perRequestUs(after.cpu.user - before.cpu.user) : null,
    sysUs: pid ? perRequestUs(after.cpu.sys - before.cpu.sys) : null,
    involuntaryPer1k: pid ? ((after.sw.involuntary - before.sw.involuntary) / requests) * 1000 : null,
    voluntaryPer1k: pid ? ((after.sw.voluntary - before.sw.voluntary) / requests) * 1000 : null,
    routerP50Ms: hist ? quantileBetween(hist, histAfter, 0.5) : null,
    routerP99Ms: hist ? quantileBetween(hist, histAfter, 0.99) : null,
    routerP999Ms: hist ? quantileBetween(hist, histAfter, 0.999) : null,
    command: wrk.command,
  };
}

function table(runs, names, opts) {
  const fmt = (v, digits = 2) => (v === null || v === undefined ? "-" : Number(v).toFixed(digits));
  const med = (name, key) => median(runs.filter((r) => r.target === name).map((r) => r[key]));
  const range = (name, key) => {
    const values = runs
      .filter((r) => r.target === name)
      .map((r) => r[key])
      .sort((a, b) => a - b);
    return values.length > 1 ? ` (${fmt(values[0])}-${fmt(values.at(-1))})` : "";
  };
  const directP99 = med(DIRECT, "p99Ms");
  const lines = [
    `### ${opts.rate} req/s, ${opts.connections} connections, fixed rate: \`wrk -t1 -c${opts.connections} -d${opts.durationS}s --latency -s fixed-rate.lua URL -- ${opts.rate}\`, medians of ${opts.rounds} round(s)`,
    "",
    "| target | req/s | p50 ms | p99 ms (range) | p99 added | user µs/req | sys µs/req | involuntary cs /1k req | machine busy | router's own p50 / p99 / p99.9 ms |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const name of names) {
    const p99 = med(name, "p99Ms");
    const routerOwn =
      med(name, "routerP99Ms") === null
        ? "-"
        : `≤${fmt(med(name, "routerP50Ms"))} / ≤${fmt(med(name, "routerP99Ms"))} / ≤${fmt(med(name, "routerP999Ms"))}`;
    lines.push(
      `| ${name} | ${Math.round(med(name, "requestsPerSec"))} | ${fmt(med(name, "p50Ms"))} | ${fmt(p99)}${range(name, "p99Ms")} | ${name === DIRECT ? "-" : `+${fmt(p99 - directP99)}`} | ${fmt(med(name, "userUs"), 1)} | ${fmt(med(name, "sysUs"), 1)} | ${fmt(med(name, "involuntaryPer1k"), 0)} | ${fmt(med(name, "machineBusyPct"), 0)}% | ${routerOwn} |`,
    );
  }
  lines.push(
    "",
    "CPU and context switches are the proxy's (all threads; switches of its main thread); machine busy is every CPU from /proc/stat, load generator and upstream included.",
    "The router's own latency is its histogram (request parsed to response end, upstream included), read over its admin API around each run; ≤ because it has buckets.",
  );
  return lines.join("\n");
}

async function main() {
  const opts = options();
  const processes = new Processes();
  const tmp = mkdtempSync(join(tmpdir(), "baton-bench-fixed-"));
  const stop = processes.exitHandler("bench:router:fixed-rate", tmp);
  try {
    const progress = (msg) => console.error(`bench:router:fixed-rate: ${msg}`);
    const upstream = await startUpstreams(processes, tmp);
    const relay = await startNodeRelay(processes, tmp, upstream.ports);
    const baton = await startBaton(processes, tmp, upstream.ports);
    const targets = [{ name: DIRECT, port: upstream.ports[0] }, relay, baton];
    if (opts.batonB !== undefined) {
      const main = join(opts.batonB, "dist/src/cli/main.js");
      targets.push(await startBaton(processes, tmp, upstream.ports, { name: `baton (${opts.batonB})`, main }));
    }
    const names = targets.map((t) => t.name);
    progress(`about ${Math.ceil((opts.rounds * targets.length * (opts.durationS + 3)) / 60)} min of load`);
    const runs = [];
    for (let round = 1; round <= opts.rounds; round++) {
      // Each round starts one target later, so drift on this shared machine falls on all alike.
      const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]);
      for (const target of order) {
        progress(`round ${round}/${opts.rounds}: ${target.name}`);
        runs.push({ round, ...(await measure(processes, target, opts)) });
      }
    }
    console.log(`\n${table(runs, names, opts)}`);
    const failed = runs.filter((r) => r.errors > 0);
    if (failed.length > 0) console.log(`\nErrors (non-2xx or socket) in ${failed.length} run(s): see the raw results.`);
    const dir = join(ROOT, "bench/results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `router-fixed-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ command: process.argv.slice(1).join(" "), options: opts, runs }, null, 2)}\n`,
    );
    console.log(`\nRaw results: ${relative(ROOT, file)}`);
    await stop(0);
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    await stop(1);
  }
}

await main();
