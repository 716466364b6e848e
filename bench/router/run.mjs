#!/usr/bin/env node
// Router benchmark: baton's router against nginx, HAProxy and a plain Node proxy, all in front of
// the same two nginx upstreams on loopback, loaded by wrk. See README.md beside this file.
//
//   node bench/router/run.mjs [--rounds 3] [--duration 10] [--warmup 3]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, release as kernelRelease, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { readOptions } from "../options.mjs";
import { median, ProcessSampler, runWrk } from "./measure.mjs";
import {
  assertAlive,
  Processes,
  startBaton,
  startHaproxy,
  startNginxProxy,
  startNodeProxy,
  startNodeRelay,
  startUpstreams,
} from "./proxies.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PEAK_CONNECTIONS = [64, 256];
/**
 * The half-of-peak phase: baton's median req/s at this many connections in the peak runs is P, and
 * every target then gets R = P / 2 req/s over the same number of connections, paced by
 * fixed-rate.lua (which needs wrk's one thread, -t1, as runWrk uses). (A closed-loop `wrk -c8` is no light load: 8 connections with no pause between
 * requests still saturate a single-threaded proxy.)
 */
const HALF_PEAK_CONNECTIONS = 64;
const FIXED_RATE_SCRIPT = fileURLToPath(new URL("fixed-rate.lua", import.meta.url));
/** A target whose achieved rate is off R by more than this fraction is flagged in the table. */
const RATE_TOLERANCE = 0.1;
const DIRECT = "direct to upstream";
/**
 * Pause after every wrk run before the next one starts. Without it, a new wrk opens its 256
 * connections while a Node proxy is still busy with the 256 the previous wrk just aborted; a
 * saturated Node server then accepts the new ones over 1-2 s (packet captures showed all
 * handshakes done in 6 ms, accepts spread over 1.6 s), and those first requests put 1-2 s into
 * p99. nginx and HAProxy do not show it. The tables measure steady-state proxying, so let the
 * teardown finish first; README.md has the details.
 */
const SETTLE_MS = 1_000;

const USAGE = `usage: node bench/router/run.mjs [--rounds N] [--duration S] [--warmup S]
  --rounds N     interleaved rounds; the tables show medians over them (default 3)
  --duration S   seconds of each measured wrk run (default 10)
  --warmup S     seconds of the discarded wrk run before each measured one (default 3)`;

function options() {
  const { int } = readOptions({
    usage: USAGE,
    fail,
    options: {
      rounds: { type: "string", default: "3" },
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
    },
  });
  return { rounds: int("rounds", 1, 50), durationS: int("duration", 1, 600), warmupS: int("warmup", 0, 60) };
}

function fail(message) {
  console.error(`bench:router: ${message}`);
  process.exit(1);
}

// ---- tools ----

/** nginx and haproxy live in /usr/sbin, which a non-login root shell may not have on PATH. */
process.env.PATH = `${process.env.PATH ?? ""}:/usr/sbin:/sbin`;

const have = (command) => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;

/**
 * Install nginx, haproxy and wrk from Debian when one is missing. Debian's maintainer scripts
 * would start nginx and haproxy as system services (nginx on port 80); a policy-rc.d that exits
 * 101 tells invoke-rc.d not to, so the only instances running are the ones we start ourselves.
 */
function ensureTools() {
  const missing = ["nginx", "haproxy", "wrk"].filter((c) => !have(c));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`${missing.join(", ")} not installed; as root: apt-get install -y nginx haproxy wrk`);
  }
  console.error(`bench:router: installing nginx haproxy wrk (missing: ${missing.join(", ")})`);
  const policy = "/usr/sbin/policy-rc.d";
  const ownPolicy = !existsSync(policy);
  if (ownPolicy)
    writeFileSync(policy, "#!/bin/sh\n# baton bench: do not start services during install\nexit 101\n", {
      mode: 0o755,
    });
  try {
    const apt = (args) => {
      const r = spawnSync("apt-get", args, {
        stdio: ["ignore", 2, 2], // apt's chatter goes to stderr; stdout is the report
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
        timeout: 10 * 60_000,
      });
      if (r.status !== 0)
        throw new Error(`apt-get ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`})`);
    };
    apt(["update"]);
    apt(["install", "-y", "nginx", "haproxy", "wrk"]);
  } finally {
    if (ownPolicy) unlinkSync(policy);
  }
  const still = ["nginx", "haproxy", "wrk"].filter((c) => !have(c));
  if (still.length > 0) throw new Error(`still missing after apt-get install: ${still.join(", ")}`);
}

function versions() {
  const first = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0];
  };
  return {
    node: process.version,
    nginx: first("nginx", ["-v"]),
    haproxy: first("haproxy", ["-v"]),
    wrk: first("wrk", ["-v"]),
    cpus: `${availableParallelism()} x ${cpus()[0]?.model ?? "?"}`,
    kernel: kernelRelease(),
  };
}

/** Which baton was measured: the commit, whether src/ had uncommitted changes, when dist/ was built. */
function batonBuild() {
  const git = (args) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" }).stdout?.trim() ?? "";
  const dist = join(ROOT, "dist/src/router/router.js");
  return {
    commit: git(["rev-parse", "--short", "HEAD"]) || null,
    srcUncommittedChanges: git(["status", "--porcelain", "--", "src"]).split("\n").filter(Boolean).length,
    distBuiltAt: existsSync(dist) ? statSync(dist).mtime.toISOString() : null,
  };
}

/** A warning, not an error: an old dist/ would benchmark code that is no longer in src/. */
function warnIfDistStale() {
  const src = join(ROOT, "src/router/exchange.ts");
  const dist = join(ROOT, "dist/src/router/exchange.js");
  if (existsSync(src) && existsSync(dist) && statSync(src).mtimeMs > statSync(dist).mtimeMs) {
    console.error("bench:router: warning: src/router is newer than dist/; run `npm run build` to bench current code");
  }
}

// ---- one measurement ----

/**
 * A discarded warm-up run (JIT, connection pools, TCP buffers), then the measured run with the
 * proxy's and the upstream's processes sampled from /proc. Without `rate`, wrk sends as fast as the
 * connections allow (closed loop); with it, both runs are paced to about `rate` req/s in total.
 */
async function measure(processes, target, upstream, connections, opts, rate) {
  const url = `http://127.0.0.1:${target.port}/`;
  const track = (child, name) => processes.track(child, name);
  const pacing = rate === undefined ? {} : { script: FIXED_RATE_SCRIPT, scriptArgs: [rate] };
  // A dead proxy would otherwise show up as a confusing wrk "connection refused".
  const alive = () => {
    assertAlive(upstream);
    assertAlive(target);
  };
  alive();
  if (opts.warmupS > 0) {
    await runWrk({ url, connections, durationS: opts.warmupS, track, ...pacing }).catch((error) => {
      alive();
      throw error;
    });
    await sleep(SETTLE_MS);
  }
  const proxy = target.pid === undefined ? undefined : new ProcessSampler(target.pid);
  const up = new ProcessSampler(upstream.pid);
  proxy?.start();
  up.start();
  let wrk;
  let proxyUse;
  let upUse;
  try {
    wrk = await runWrk({ url, connections, durationS: opts.durationS, track, ...pacing });
  } catch (error) {
    alive();
    throw error;
  } finally {
    proxyUse = proxy?.stop();
    upUse = up.stop();
  }
  await sleep(SETTLE_MS);
  alive();
  const per100k = (s) => (wrk.requests > 0 ? (s / wrk.requests) * 100_000 : null);
  return {
    target: target.name,
    connections,
    targetRate: rate ?? null,
    wrkCommand: wrk.command,
    requestsPerSec: wrk.requestsPerSec,
    requests: wrk.requests,
    p50Ms: wrk.p50Ms,
    p99Ms: wrk.p99Ms,
    non2xx: wrk.non2xx,
    socketErrors: wrk.socketErrors,
    cpuSeconds: proxyUse?.cpuSeconds ?? null,
    cpuPer100k: proxyUse ? per100k(proxyUse.cpuSeconds) : null,
    peakRssMb: proxyUse?.peakRssMb ?? null,
    upstreamCpuPer100k: per100k(upUse.cpuSeconds),
    wrkOutput: wrk.output,
  };
}

/** Each round starts one target later, so no target is always the first after a pause. */
const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);

// ---- summaries and tables ----

function summarize(runs, connections, names) {
  const at = runs.filter((r) => r.connections === connections);
  const rounds = [...new Set(at.map((r) => r.round))];
  const nginxIn = (round) => at.find((r) => r.round === round && r.target === "nginx");
  const directIn = (round) => at.find((r) => r.round === round && r.target === DIRECT);
  return names.map((name) => {
    const mine = at.filter((r) => r.target === name);
    // Ratios are taken within a round (same conditions), then the median over rounds.
    const ratio = (field, base) =>
      median(
        rounds.map((round) => {
          const a = mine.find((r) => r.round === round)?.[field];
          const b = base(round)?.[field];
          return a == null || !b ? null : a / b;
        }),
      );
    const errors = mine.reduce(
      (e, r) => {
        e.non2xx += r.non2xx;
        for (const [k, v] of Object.entries(r.socketErrors)) e.socket[k] += v;
        return e;
      },
      { non2xx: 0, socket: { connect: 0, read: 0, write: 0, timeout: 0 } },
    );
    return {
      target: name,
      connections,
      rounds: mine.length,
      requestsPerSec: median(mine.map((r) => r.requestsPerSec)),
      requestsPerSecRange: [
        Math.min(...mine.map((r) => r.requestsPerSec)),
        Math.max(...mine.map((r) => r.requestsPerSec)),
      ],
      rpsVsNginx: ratio("requestsPerSec", nginxIn),
      p50Ms: median(mine.map((r) => r.p50Ms)),
      p99Ms: median(mine.map((r) => r.p99Ms)),
      p99AddedVsDirectMs: median(
        rounds.map((round) => {
          const a = mine.find((r) => r.round === round)?.p99Ms;
          const b = directIn(round)?.p99Ms;
          return a == null || b == null ? null : a - b;
        }),
      ),
      cpuPer100k: median(mine.map((r) => r.cpuPer100k)),
      cpuVsNginx: ratio("cpuPer100k", nginxIn),
      peakRssMb: median(mine.map((r) => r.peakRssMb)),
      upstreamCpuPer100k: median(mine.map((r) => r.upstreamCpuPer100k)),
      errors,
    };
  });
}

/**
 * The half-of-peak rows: summarize()'s, plus how close each target came to the rate R it was sent
 * (achieved / R per round). A proxy that cannot keep up answers slower than R arrives, so its
 * connections spend longer waiting and it gets fewer requests than R.
 */
function summarizeHalfPeak(runs, names, half) {
  return summarize(runs, half.connections, names).map((row) => {
    const ratios = runs.filter((r) => r.target === row.target).map((r) => r.requestsPerSec / half.targetRate);
    return {
      ...row,
      rateVsTarget: median(ratios),
      roundsBelowRate: ratios.filter((x) => x < 1 - RATE_TOLERANCE).length,
      roundsAboveRate: ratios.filter((x) => x > 1 + RATE_TOLERANCE).length,
    };
  });
}

const dash = "—";
const fmt = {
  int: (n) => (n == null ? dash : Math.round(n).toLocaleString("en-US")),
  ms: (n) => (n == null ? dash : n.toFixed(2)),
  x: (n) => (n == null ? dash : `${n.toFixed(2)}x`),
  cpu: (n) => (n == null ? dash : n.toFixed(2)),
  mb: (n) => (n == null ? dash : n.toFixed(1)),
  signedMs: (n) => (n == null ? dash : `${n >= 0 ? "+" : ""}${n.toFixed(2)}`),
};

function errorNotes(rows) {
  const notes = [];
  for (const row of rows) {
    const s = row.errors.socket;
    const socket = s.connect + s.read + s.write + s.timeout;
    if (row.errors.non2xx > 0 || socket > 0) {
      notes.push(
        `${row.target}: ${row.errors.non2xx} non-2xx/3xx responses, socket errors connect ${s.connect} read ${s.read} write ${s.write} timeout ${s.timeout} (summed over rounds)`,
      );
    }
  }
  return notes.length === 0
    ? ["wrk errors: none (no non-2xx/3xx responses, no socket errors)"]
    : notes.map((n) => `wrk errors: ${n}`);
}

function peakTable(rows, connections, opts) {
  const lines = [
    `### ${connections} connections: \`wrk -t1 -c${connections} -d${opts.durationS}s --latency\`, median of ${opts.rounds} round(s)`,
    "",
    "| proxy | req/s | vs nginx | p50 ms | p99 ms | CPU s/100k req | vs nginx | RSS MB |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.target} | ${fmt.int(r.requestsPerSec)} | ${fmt.x(r.rpsVsNginx)} | ${fmt.ms(r.p50Ms)} | ${fmt.ms(r.p99Ms)} | ${fmt.cpu(r.cpuPer100k)} | ${fmt.x(r.cpuVsNginx)} | ${fmt.mb(r.peakRssMb)} |`,
    );
  }
  lines.push("", ...errorNotes(rows));
  return lines.join("\n");
}

function halfPeakTable(half, opts) {
  const { rows, connections, targetRate: R } = half;
  const lines = [
    `### Half of baton's peak (${fmt.int(R)} req/s, ${connections} connections, fixed rate): \`wrk -t1 -c${connections} -d${opts.durationS}s --latency -s fixed-rate.lua URL -- ${R}\`, median of ${opts.rounds} round(s)`,
    "",
    `R = P / 2, where P = ${fmt.int(half.batonPeakRps)} req/s is baton's median at ${connections} connections above. Every target gets the same R:`,
    `fixed-rate.lua books one send every 1000 / R ms over the ${connections} connections, so each sends about every ${connections} * 1000 / R = ${half.connectionIntervalMs.toFixed(2)} ms.`,
    "",
    "| proxy | req/s | % of R | p50 ms | p99 ms | p99 added vs direct, ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    const pct = r.rateVsTarget == null ? dash : `${(r.rateVsTarget * 100).toFixed(0)}%`;
    lines.push(
      `| ${r.target} | ${fmt.int(r.requestsPerSec)} | ${pct} | ${fmt.ms(r.p50Ms)} | ${fmt.ms(r.p99Ms)} | ${r.target === DIRECT ? dash : fmt.signedMs(r.p99AddedVsDirectMs)} |`,
    );
  }
  lines.push("");
  const tol = `${RATE_TOLERANCE * 100}%`;
  const off = rows.filter((r) => r.roundsBelowRate > 0 || r.roundsAboveRate > 0);
  if (off.length === 0) {
    lines.push(`rate: every target got within ${tol} of R in every round`);
  }
  for (const r of off) {
    if (r.roundsBelowRate > 0) {
      lines.push(
        `rate: ${r.target} COULD NOT KEEP UP: more than ${tol} below R in ${r.roundsBelowRate} of ${r.rounds} round(s); its latencies are not at R`,
      );
    }
    if (r.roundsAboveRate > 0) {
      lines.push(`rate: ${r.target} got more than ${tol} above R in ${r.roundsAboveRate} of ${r.rounds} round(s)`);
    }
  }
  lines.push(...errorNotes(rows));
  const baton = rows.find((r) => r.target === "baton");
  if (baton?.p99AddedVsDirectMs != null) {
    // Only a verdict when baton really got R: below it, its latencies are not those at half its peak.
    let verdict = baton.p99AddedVsDirectMs < 1 ? "met" : "NOT met";
    if (baton.roundsBelowRate > 0) verdict = "not measured (baton did not keep up with R)";
    lines.push(
      `goal "under 1 ms of added p99 latency at half its peak load": baton adds ${fmt.signedMs(baton.p99AddedVsDirectMs)} ms: ${verdict}`,
    );
  }
  return lines.join("\n");
}

/** What baton's router itself logged at warn or error level (one JSON object per line). */
function batonLogProblems(logFile) {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .filter((line) => {
      try {
        const level = JSON.parse(line).level;
        return level === "warn" || level === "error";
      } catch {
        // Not a log line: a stack trace or a crash message, except the banner on stdout.
        return !line.startsWith("baton router listening on ");
      }
    });
}

// ---- main ----

async function main() {
  const opts = options();
  const command = `node bench/router/run.mjs ${process.argv.slice(2).join(" ")}`.trim();
  console.log(`Command: \`${command}\``);
  console.log(`(rounds ${opts.rounds}, duration ${opts.durationS} s, warm-up ${opts.warmupS} s)\n`);

  ensureTools();
  warnIfDistStale();
  const tools = versions();
  const build = batonBuild();

  const processes = new Processes();
  const tmp = mkdtempSync(join(tmpdir(), "baton-bench-router-"));
  const stop = processes.exitHandler("bench:router", tmp);

  try {
    const progress = (msg) => console.error(`bench:router: ${msg}`);
    progress(`starting upstreams and proxies in ${tmp}`);
    const upstream = await startUpstreams(processes, tmp);
    const nginx = await startNginxProxy(processes, tmp, upstream.ports);
    const haproxy = await startHaproxy(processes, tmp, upstream.ports);
    const node = await startNodeProxy(processes, tmp, upstream.ports);
    const relay = await startNodeRelay(processes, tmp, upstream.ports);
    const baton = await startBaton(processes, tmp, upstream.ports);
    // The same router with its fast path off: what the fast path is worth, in the same run.
    const batonNodeHttp = await startBaton(processes, tmp, upstream.ports, {
      name: "baton --node-http",
      args: ["--node-http"],
    });
    const direct = { name: DIRECT, port: upstream.ports[0] };
    const targets = [direct, nginx, haproxy, node, relay, baton, batonNodeHttp];
    const names = targets.map((t) => t.name);

    const runs = [];
    const perRun = opts.warmupS + opts.durationS + (opts.warmupS > 0 ? 2 : 1) * (SETTLE_MS / 1000);
    const total = opts.rounds * targets.length * (PEAK_CONNECTIONS.length + 1) * perRun;
    progress(`about ${Math.ceil(total / 60)} min of load`);

    for (let round = 1; round <= opts.rounds; round++) {
      for (const connections of PEAK_CONNECTIONS) {
        for (const target of rotate(targets, round - 1)) {
          progress(`round ${round}/${opts.rounds}, ${connections} connections: ${target.name}`);
          runs.push({ phase: "peak", round, ...(await measure(processes, target, upstream, connections, opts)) });
        }
      }
    }
    const peak = runs.filter((r) => r.phase === "peak");
    const summary = { peak: PEAK_CONNECTIONS.map((c) => summarize(peak, c, names)) };

    // Half of baton's peak, after the peak runs because R comes from them: latency when the proxy
    // is not saturated, every target (the upstream directly too) at the same fixed rate R.
    const batonPeakRps = summarize(peak, HALF_PEAK_CONNECTIONS, names).find((r) => r.target === "baton").requestsPerSec;
    if (!(batonPeakRps > 0)) throw new Error(`no peak req/s for baton at ${HALF_PEAK_CONNECTIONS} connections`);
    const targetRate = Math.round(batonPeakRps / 2);
    const half = {
      connections: HALF_PEAK_CONNECTIONS,
      batonPeakRps,
      targetRate,
      connectionIntervalMs: (HALF_PEAK_CONNECTIONS * 1000) / targetRate,
    };
    progress(`half of baton's peak: P = ${Math.round(batonPeakRps)} req/s, R = ${targetRate} req/s`);
    for (let round = 1; round <= opts.rounds; round++) {
      for (const target of rotate(targets, round - 1)) {
        progress(`half-peak round ${round}/${opts.rounds}, ${targetRate} req/s: ${target.name}`);
        const run = await measure(processes, target, upstream, HALF_PEAK_CONNECTIONS, opts, targetRate);
        runs.push({ phase: "half-peak", round, ...run });
      }
    }
    half.rows = summarizeHalfPeak(
      runs.filter((r) => r.phase === "half-peak"),
      names,
      half,
    );
    summary.halfPeak = half;
    const batonStats = await baton.client.appStats("bench").catch((error) => ({ error: String(error) }));
    const batonProblems = batonLogProblems(baton.logFile);

    console.log(
      `Machine: ${tools.cpus}, Linux ${tools.kernel}; ${tools.nginx}; ${tools.haproxy}; ${tools.wrk}; node ${tools.node}`,
    );
    const dirty =
      build.srcUncommittedChanges > 0 ? ` + ${build.srcUncommittedChanges} uncommitted change(s) in src/` : "";
    console.log(`baton: commit ${build.commit}${dirty}, dist/ built ${build.distBuiltAt}\n`);
    for (const [i, c] of PEAK_CONNECTIONS.entries()) console.log(`${peakTable(summary.peak[i], c, opts)}\n`);
    console.log(`${halfPeakTable(summary.halfPeak, opts)}\n`);
    console.log(
      [
        "Notes: ratios are per round against nginx in the same round, then the median. CPU is utime+stime of all the",
        "proxy's processes (nginx master+workers) over the measured run; RSS is the peak of their summed VmRSS, sampled",
        "every 200 ms. The direct row has no proxy, so no CPU or RSS. Everything shares 2 cores with wrk and the upstream.",
      ].join("\n"),
    );
    const rel = batonStats.releases?.[0];
    if (rel) {
      console.log(
        `\nbaton router's own counters: ${rel.requests} requests, status ${JSON.stringify(rel.statusClasses)}, retries ${rel.retries}, errors ${JSON.stringify(rel.errors)}, in flight now ${rel.inFlight}, held ${batonStats.held}, not routed ${batonStats.notRouted}`,
      );
    }
    console.log(
      batonProblems.length === 0
        ? "baton router log: no warnings or errors"
        : `baton router log: ${batonProblems.length} warning/error line(s), first ones:\n${batonProblems.slice(0, 10).join("\n")}`,
    );

    const resultsDir = join(ROOT, "bench/results");
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `router-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    const json = {
      command,
      date: new Date().toISOString(),
      options: opts,
      machine: tools,
      baton: build,
      upstreamPorts: upstream.ports,
      summary,
      batonStats,
      batonLogProblems: batonProblems,
      runs,
    };
    writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`\nRaw results: ${relative(ROOT, file)}`);
    await stop(0);
  } catch (error) {
    await stop(1, `failed: ${error?.message ?? error}`);
  }
}

main();
