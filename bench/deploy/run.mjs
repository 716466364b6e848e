#!/usr/bin/env node
// Deploy benchmark: what users see during `baton deploy` (failed requests, p50, p99 against steady
// state) and how a deploy's time splits between the app's own work and baton's overhead. The real
// server and CLI on a temp home, examples/hello deployed N times under steady load. See README.md
// beside this file.
//
//   node bench/deploy/run.mjs [--deploys 5] [--steady 10] [--gap 4] [--connections 2] [--slow-connections 8] [--cpu]
//                             [--warmup-cpu idle|normal]
import { cpSync, existsSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  baton,
  batonBuild,
  dist,
  MAIN,
  machine as measuredOn,
  ROOT,
  reporter,
  startServer,
  stopper,
  writeResults,
} from "../baton.mjs";
import { readOptions } from "../options.mjs";
import { startCpuSampler } from "./cpu-sampler.mjs";

const LOAD = dist("src/load/load.js");
const PORTS = dist("src/supervisor/ports.js");
const EXAMPLE = join(ROOT, "examples/hello");
const APP = "hello";
/** Goals, printed beside the numbers (a benchmark reports; it does not fail on them). */
const GOALS = { failed: 0, p99Ratio: 1.5, overheadMs: 1_000 };
/** The app's own time: what it would cost on any platform. Everything else in durationMs is baton's. */
const APP_STEPS = ["build", "release", "boot", "warmup"];
/** Bound on one deploy (the CLI's other commands: bench/baton.mjs). */
const DEPLOY_TIMEOUT_MS = 120_000;

const USAGE = `usage: node bench/deploy/run.mjs [--deploys N] [--steady S] [--connections C] [--slow-connections C]
  --deploys N      consecutive deploys of examples/hello measured (default 5)
  --steady S       seconds of the steady-state window before the first one (default 10)
  --connections C       connections sending quick requests back to back (default 2)
  --slow-connections C  connections sending 300 ms requests back to back (default 8)
  --gap S          seconds of idle load measured after each deploy (default 4); the steady-state
                   baseline pools these with the first window
  --cpu            also sample each process's CPU time (/proc, every 25 ms) and print, per step,
                   the cores each kind of process used (router, server, CLI, load, old and new
                   instances, build)
  --warmup-cpu idle|normal
                   deploy a copy of examples/hello whose app.json sets baton.warmup.cpu to this
                   (default: the example as it is, which leaves it to baton: idle)`;

function options() {
  const { int, values } = readOptions({
    usage: USAGE,
    fail,
    options: {
      cpu: { type: "boolean", default: false },
      deploys: { type: "string", default: "5" },
      steady: { type: "string", default: "10" },
      connections: { type: "string", default: "2" },
      "slow-connections": { type: "string", default: "8" },
      gap: { type: "string", default: "4" },
      "warmup-cpu": { type: "string" },
    },
  });
  const warmupCpu = values["warmup-cpu"];
  if (warmupCpu !== undefined && warmupCpu !== "idle" && warmupCpu !== "normal")
    fail(`--warmup-cpu must be idle or normal, got ${JSON.stringify(warmupCpu)}`);
  return {
    deploys: int("deploys", 1, 50),
    steadyS: int("steady", 1, 120),
    connections: int("connections", 1, 256),
    slowConnections: int("slow-connections", 0, 256),
    gapS: int("gap", 1, 60),
    cpu: values.cpu === true,
    warmupCpu,
  };
}

const { fail, progress } = reporter("bench:deploy");

function parseJson(result, what) {
  try {
    return JSON.parse(result.stdout);
  } catch {
    throw new Error(
      `${what} printed no JSON (exit ${result.code ?? result.signal}):\n${result.stdout}${result.stderr}`,
    );
  }
}

/**
 * Two closed loops against the router: quick requests (GET /, POST /api/echo) whose latency is
 * what the table's p50 and p99 are about, and 300 ms requests that are in flight at every switch
 * and drain (counted in requests and failed, kept out of the percentiles: they would pin p99 at
 * 300 ms and hide any stall shorter than that).
 */
class Load {
  constructor(LoadRun, port, opts, maxDurationMs) {
    const common = { port, hostHeader: `${APP}.localhost`, maxDurationMs, maxRequests: 20_000_000 };
    this.quick = new LoadRun({
      ...common,
      connections: opts.connections,
      requests: [
        { path: "/" },
        { method: "POST", path: "/api/echo", body: JSON.stringify({ order: 42, items: ["a", "b", "c"] }) },
      ],
    }).start();
    this.slow = new LoadRun({
      ...common,
      connections: opts.slowConnections,
      requests: [{ path: "/slow?ms=300" }],
    }).start();
  }

  /** Milliseconds on the quick run's clock; the slow run's is a few microseconds behind. */
  now() {
    return this.quick.now();
  }

  /**
   * The quick requests of several idle windows pooled: the steady-state baseline. Idle windows
   * between the deploys share the deploys' conditions (a shared machine drifts over a run), so
   * the ratio compares like with like.
   */
  pooled(ranges, summarize) {
    const inAny = (s) => ranges.some(([from, to]) => s.startMs >= from && s.startMs < to);
    const spanMs = ranges.reduce((n, [from, to]) => n + (to - from), 0);
    return summarize(this.quick.samples.filter(inAny), spanMs);
  }

  /** How many quick requests that started in [from, to) took longer than `thresholdMs`. */
  slowerThan(from, to, thresholdMs) {
    let n = 0;
    for (const q of this.quick.samples) if (q.startMs >= from && q.startMs < to && q.latencyMs > thresholdMs) n++;
    return n;
  }

  window(from, to) {
    const quick = this.quick.window(from, to);
    const slow = this.slow.window(from, to);
    return {
      requests: quick.requests + slow.requests,
      failed: quick.failed + slow.failed,
      failures: mergeCounts(quick.failures, slow.failures),
      p50Ms: quick.p50Ms,
      p99Ms: quick.p99Ms,
      maxMs: quick.maxMs,
      rps: quick.rps + slow.rps,
      quick,
      slow,
    };
  }

  async stop() {
    await Promise.all([this.quick.stop(), this.slow.stop()]);
    return this.window(0, Number.POSITIVE_INFINITY);
  }
}

function mergeCounts(a, b) {
  const out = { ...a };
  for (const [key, n] of Object.entries(b)) out[key] = (out[key] ?? 0) + n;
  return out;
}

const fmtMs = (n) => (n === null || n === undefined ? "n/a" : `${n.toFixed(1)} ms`);

function median(values) {
  const sorted = values.filter((v) => typeof v === "number" && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Split a `baton deploy --json` result the server's way (its `time` field): the app's own steps,
 * the strategy's deliberate waits (rollout, canary, bake), and the rest, which is baton's overhead.
 */
function split(deploy) {
  const stepMs = Object.fromEntries(deploy.steps.map((s) => [s.name, s.durationMs]));
  return { stepMs, appMs: deploy.time.appMs, strategyMs: deploy.time.strategyMs, overheadMs: deploy.time.batonMs };
}

function table(steady, rows, medians) {
  const fmt = (n, digits = 0) => (n === null || n === undefined ? "" : Number(n).toFixed(digits));
  const mark = (ok) => (ok ? "ok" : "MISSED");
  const header = [
    "window",
    "requests",
    "failed",
    "p50 ms",
    "p99 ms",
    "p99 vs steady",
    "deploy ms",
    "app ms",
    "baton ms",
    "drain ms",
    "goals",
  ];
  const line = (r) => [
    r.label,
    String(r.stats.requests),
    String(r.stats.failed),
    fmt(r.stats.p50Ms, 1),
    fmt(r.stats.p99Ms, 1),
    r.p99Ratio === undefined ? "" : `${fmt(r.p99Ratio, 2)}x`,
    fmt(r.durationMs),
    fmt(r.appMs),
    fmt(r.overheadMs),
    fmt(r.drainMs),
    r.goals === undefined
      ? ""
      : r.goals.all
        ? "ok"
        : Object.entries(r.goals.each)
            .filter(([, ok]) => !ok)
            .map(([g]) => `${g} ${mark(false)}`)
            .join(", "),
  ];
  const out = [header, line({ label: "steady (idle, pooled)", stats: steady }), ...rows.map(line), line(medians)];
  const widths = header.map((_, c) => Math.max(...out.map((r) => r[c].length)));
  return out
    .map((r) =>
      r
        .map((cell, c) => (c === 0 || c === r.length - 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/**
 * Per step, medians over the deploys: its time, the quick requests it saw, their p99 and max, and
 * its share of the deploy window's slowest 1% (the requests above the window's p99).
 */
function stepTable(rows, steady) {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.perStep ?? {})))];
  const share = (v) => (v === null || v === undefined ? "" : `${Math.round(v * 100)}%`);
  const out = [
    ["step (medians)", "ms", "requests", "req/s vs steady", "p99 ms", "p99 vs steady", "max ms", "slowest 1%"],
  ];
  for (const name of names) {
    const pick = (f) => median(rows.map((r) => (r.perStep?.[name] === undefined ? undefined : f(r.perStep[name]))));
    const ms = pick((s) => s.ms);
    const rps = pick((s) => (s.ms > 0 ? (s.requests * 1000) / s.ms : undefined));
    const p99 = pick((s) => (s.requests > 0 ? s.p99Ms : undefined));
    out.push([
      name,
      ms === null ? "" : ms.toFixed(0),
      String(pick((s) => s.requests) ?? ""),
      rps === null || !(steady.rps > 0) ? "" : `${(rps / steady.rps).toFixed(2)}x`,
      p99 === null ? "" : p99.toFixed(1),
      p99 === null || !(steady.p99Ms > 0) ? "" : `${(p99 / steady.p99Ms).toFixed(2)}x`,
      pick((s) => (s.requests > 0 ? s.maxMs : undefined))?.toFixed(1) ?? "",
      share(pick((s) => s.slowestShare)),
    ]);
  }
  out.push(["outside steps", "", "", "", "", "", "", share(median(rows.map((r) => r.slowestOutsideSteps)))]);
  const widths = out[0].map((_, c) => Math.max(...out.map((r) => r[c].length)));
  return out
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "))
    .join("\n");
}

/** What a process is, from its argv (and, for an instance, the release directory it runs in). */
function processKind(pid, argv) {
  if (pid === process.pid) return "load";
  const main = argv.findIndex((a) => a.endsWith("dist/src/cli/main.js"));
  if (main >= 0) return { router: "router", server: "server" }[argv[main + 1]] ?? "cli";
  if (argv.includes("server.js")) {
    try {
      const version = /\/releases\/v(\d+)/.exec(readlinkSync(`/proc/${pid}/cwd`))?.[1];
      return version === undefined ? "app" : `app v${version}`;
    } catch {
      return "app";
    }
  }
  return argv.some((a) => /(^|\/)npm(-cli\.js)?$/.test(a)) ? "build" : undefined;
}

const CPU_KINDS = ["router", "server", "cli", "load", "old app", "new app", "new app main", "build"];

/** Instances named by release become old or new relative to the deploy's own release. */
function byRelease(cpuMs, version) {
  const out = {};
  for (const [kind, ms] of Object.entries(cpuMs)) {
    const [owner, thread] = kind.split(" main");
    const name =
      (owner === `app v${version}` ? "new app" : owner.startsWith("app") ? "old app" : owner) +
      (thread === undefined ? "" : " main");
    out[name] = (out[name] ?? 0) + ms;
  }
  return out;
}

/** Per step, the cores each kind of process used (CPU ms over the step's ms), medians over deploys. */
function cpuTable(rows) {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.perStep ?? {})))];
  const out = [["cores used (medians)", "ms", ...CPU_KINDS, "total"]];
  for (const name of names) {
    const steps = rows.map((r) => r.perStep?.[name]).filter((s) => s?.cpuMs !== undefined && s.ms >= 5);
    if (steps.length === 0) continue;
    const cores = (pick) => median(steps.map((s) => pick(s.cpuMs) / s.ms));
    out.push([
      name,
      median(steps.map((s) => s.ms)).toFixed(0),
      ...CPU_KINDS.map((k) => cores((c) => c[k] ?? 0).toFixed(2)),
      // `<kind> main` is part of `<kind>` already
      cores((c) =>
        Object.entries(c)
          .filter(([k]) => !k.endsWith(" main"))
          .reduce((x, [, y]) => x + y, 0),
      ).toFixed(2),
    ]);
  }
  const widths = out[0].map((_, c) => Math.max(...out.map((r) => r[c].length)));
  return [
    ...out.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ")),
    "(threads' CPU time from /proc schedstat every 25 ms, each step given its share of every interval: short steps are smeared over their neighbours; steps under 5 ms left out; 2 cores = 2.00)",
  ].join("\n");
}

function goalsOf(stats, p99Ratio, overheadMs) {
  const each = {
    failed: stats.failed <= GOALS.failed,
    p99: p99Ratio <= GOALS.p99Ratio,
    overhead: overheadMs < GOALS.overheadMs,
  };
  return { each, all: Object.values(each).every(Boolean) };
}

/** A copy of examples/hello whose app.json sets baton.warmup.cpu (the one A/B knob the app has). */
function exampleWithWarmupCpu(home, cpu) {
  const dir = join(home, "example");
  cpSync(EXAMPLE, dir, { recursive: true });
  const appJson = JSON.parse(readFileSync(join(dir, "app.json"), "utf8"));
  appJson.baton.warmup.cpu = cpu;
  writeFileSync(join(dir, "app.json"), JSON.stringify(appJson, null, 2));
  return dir;
}

async function main() {
  const opts = options();
  const command = `node bench/deploy/run.mjs ${process.argv.slice(2).join(" ")}`.trim();
  if (!existsSync(MAIN) || !existsSync(LOAD)) fail("dist/ is missing; run `npm run build` first");
  const { LoadRun, summarize } = await import(LOAD);
  const { freePort } = await import(PORTS);
  console.log(`Command: \`${command}\``);
  console.log(
    `(${opts.deploys} deploys of examples/hello, ${opts.steadyS} s steady state, ${opts.connections} + ${opts.slowConnections} connections)\n`,
  );

  const home = mkdtempSync(join(tmpdir(), "baton-bench-deploy-"));
  const port = await freePort();
  let server;
  let load;
  let cpu;
  const stop = stopper({ home, keep: home, progress, current: () => ({ server, load }) });

  try {
    progress(`starting baton server on port ${port} (home ${home})`);
    server = await startServer(home, port);
    const source = opts.warmupCpu === undefined ? EXAMPLE : exampleWithWarmupCpu(home, opts.warmupCpu);
    const deploy = async (what) => {
      const result = await baton(home, ["deploy", source, "--app", APP, "--bake", "0", "--json"], DEPLOY_TIMEOUT_MS);
      const json = parseJson(result, what);
      if (result.code !== 0 || json.status !== "succeeded")
        throw new Error(`${what}: ${json.status}: ${JSON.stringify(json.error)}\n${result.stderr}`);
      return json;
    };
    progress("deploying v1 (not measured)");
    const first = await deploy("the first deploy");

    // Bounded: the longest the run can take with every deploy at its timeout, and a request cap.
    const maxDurationMs = (opts.steadyS + 2) * 1000 + opts.deploys * DEPLOY_TIMEOUT_MS;
    load = new Load(LoadRun, port, opts, maxDurationMs);
    // The first second of load is not steady state (connections opening, the JIT on both ends).
    await sleep(1_000);
    const steadyFrom = load.now();
    progress(`steady state for ${opts.steadyS} s`);
    await sleep(opts.steadyS * 1000);
    const idle = [[steadyFrom, load.now()]];
    if (load.window(steadyFrom, load.now()).requests === 0) throw new Error("no requests in the steady-state window");

    const rows = [];
    if (opts.cpu) cpu = startCpuSampler(processKind);
    for (let i = 1; i <= opts.deploys; i++) {
      progress(`deploy ${i}/${opts.deploys}`);
      const from = load.now();
      const json = await deploy(`deploy ${i}`);
      const stats = load.window(from, load.now());
      const { stepMs, appMs, overheadMs } = split(json);
      // Where in the deploy the tail comes from: before the switch only the app's new instances
      // (booting, warming up) compete with the old ones for CPU; from the switch on, traffic moves.
      const switchAt = json.steps.find((st) => st.name === "switch")?.startedAt;
      const switchOnLoadClock = typeof switchAt === "number" ? switchAt - (Date.now() - load.now()) : undefined;
      const split99 =
        switchOnLoadClock === undefined
          ? undefined
          : {
              beforeSwitchP99Ms: load.window(from, switchOnLoadClock).p99Ms,
              fromSwitchP99Ms: load.window(switchOnLoadClock, load.now()).p99Ms,
            };
      // Each step's own window: which one the tail comes from (steps run one after another). The
      // window's slowest 1% (quick requests above its p99) are counted where they started: what
      // the steps do not cover (the CLI starting and exiting, the time between steps) is left over.
      const offset = Date.now() - load.now();
      // The warm-up's routed half ends the step: the moment its new instances share the router
      // (and, without the idle CPU class, the cores) with users.
      const warmupStep = json.steps.find((st) => st.name === "warmup" && typeof st.startedAt === "number");
      const routedMs = warmupStep?.details?.throughRouter?.ms;
      const routed =
        typeof routedMs === "number" && routedMs > 0
          ? load.window(
              warmupStep.startedAt - offset + warmupStep.durationMs - routedMs,
              warmupStep.startedAt - offset + warmupStep.durationMs,
            ).quick
          : undefined;
      const slowest = load.slowerThan(from, load.now(), stats.p99Ms);
      let slowestInSteps = 0;
      const perStep = Object.fromEntries(
        json.steps
          .filter((st) => typeof st.startedAt === "number")
          .map((st) => {
            const [t0, t1] = [st.startedAt - offset, st.startedAt - offset + st.durationMs];
            const w = load.window(t0, t1).quick;
            const inStep = load.slowerThan(t0, t1, stats.p99Ms);
            slowestInSteps += inStep;
            const cpuMs =
              cpu === undefined
                ? undefined
                : byRelease(cpu.between(st.startedAt, st.startedAt + st.durationMs), json.version);
            const slowestShare = slowest > 0 ? inStep / slowest : undefined;
            return [
              st.name,
              { ms: st.durationMs, requests: w.requests, p99Ms: w.p99Ms, maxMs: w.maxMs, slowestShare, cpuMs },
            ];
          }),
      );
      rows.push({
        label: `deploy ${i} (v${json.version})`,
        version: json.version,
        warmupCpu: warmupStep?.details?.cpu,
        routed: routed === undefined ? undefined : { ms: routedMs, p99Ms: routed.p99Ms, rps: routed.rps },
        fromVersion: json.fromVersion,
        stats,
        durationMs: json.durationMs,
        appMs,
        overheadMs,
        drainMs: stepMs.drain ?? 0,
        stepMs,
        ...split99,
        perStep,
        slowestOutsideSteps: slowest > 0 ? (slowest - slowestInSteps) / slowest : undefined,
        routerFailedRequests: json.failedRequests,
      });
      // An idle window after each deploy (after the first second, when the old instances are gone).
      await sleep(1_000);
      const gapFrom = load.now();
      await sleep(opts.gapS * 1000);
      idle.push([gapFrom, load.now()]);
    }
    cpu?.stop();
    const steady = load.pooled(idle, summarize);
    for (const row of rows) {
      row.p99Ratio = steady.p99Ms > 0 ? row.stats.p99Ms / steady.p99Ms : null;
      row.goals = goalsOf(row.stats, row.p99Ratio, row.overheadMs);
    }
    const total = await load.stop();
    load = undefined;

    const med = (pick) => median(rows.map(pick));
    const medianStats = {
      requests: med((r) => r.stats.requests),
      failed: med((r) => r.stats.failed),
      p50Ms: med((r) => r.stats.p50Ms),
      p99Ms: med((r) => r.stats.p99Ms),
    };
    const medians = {
      label: "median",
      stats: medianStats,
      p99Ratio: med((r) => r.p99Ratio),
      durationMs: med((r) => r.durationMs),
      appMs: med((r) => r.appMs),
      overheadMs: med((r) => r.overheadMs),
      drainMs: med((r) => r.drainMs),
    };
    medians.goals = goalsOf(medianStats, medians.p99Ratio, medians.overheadMs);

    const machine = measuredOn();
    const build = batonBuild();
    console.log(`Machine: ${machine.cpus}, Linux ${machine.kernel}, node ${machine.node}`);
    const dirty =
      build.srcUncommittedChanges > 0 ? ` + ${build.srcUncommittedChanges} uncommitted change(s) in src/` : "";
    console.log(`baton: commit ${build.commit}${dirty}, dist/ built ${build.distBuiltAt}\n`);
    console.log(table(steady, rows, medians));
    console.log(`\n${stepTable(rows, steady)}`);
    if (cpu !== undefined) console.log(`\n${cpuTable(rows)}`);
    console.log(
      [
        "",
        `Goals: ${GOALS.failed} failed requests, p99 <= ${GOALS.p99Ratio}x steady state, baton's overhead < ${GOALS.overheadMs} ms per deploy.`,
        `Steady state pools the first ${opts.steadyS} s with a ${opts.gapS} s idle window after each deploy, so the baseline shares the deploys' conditions.`,
        `Median p99 before the switch (stage to smoke: new instances booting and warming beside the old): ${fmtMs(
          med((r) => r.beforeSwitchP99Ms),
        )}; from the switch to the end (switch, drain, stop, cleanup): ${fmtMs(med((r) => r.fromSwitchP99Ms))}.`,
        rows.some((r) => r.routed !== undefined)
          ? `The warm-up's routed half (its last ${fmtMs(med((r) => r.routed?.ms))}; medians): p99 ${fmtMs(
              med((r) => r.routed?.p99Ms),
            )}, request rate ${(med((r) => r.routed?.rps) / steady.rps).toFixed(2)}x steady.`
          : "The warm-up sent nothing through the router.",
        "p50 and p99 are of the quick requests (GET /, POST /api/echo); requests and failed count the 300 ms ones too.",
        "slowest 1%: of each deploy window's quick requests slower than its p99, the share that started in that step (medians over the deploys, so they need not add up to 100%); outside steps: the CLI starting and exiting, and the moments between steps.",
        `app ms = ${APP_STEPS.join(" + ")} steps (the app's own time); baton ms = the deploy's durationMs minus that (deploys run with --bake 0: a bake is a deliberate wait, not overhead).`,
        "drain ms (part of baton ms) is the wait for requests in flight on the old instances (here up to 300 ms each).",
        "Each deploy window runs from the deploy command's start to its end, drain included.",
        `Warm-up CPU class (the warmup step's details.cpu): ${[...new Set(rows.map((r) => r.warmupCpu ?? "none"))].join(", ")}${
          opts.warmupCpu === undefined ? "" : ` (--warmup-cpu ${opts.warmupCpu})`
        }; idle only where baton can make a cgroup (docs/architecture.md).`,
        `Total: ${total.requests} requests, ${total.failed} failed${total.failed > 0 ? ` ${JSON.stringify(total.failures)}` : ""}; ${
          rows.every((r) => r.goals.all)
            ? "every deploy met every goal"
            : `${rows.filter((r) => !r.goals.all).length} of ${rows.length} deploys missed a goal`
        }.`,
      ].join("\n"),
    );

    const file = writeResults("deploy", {
      command,
      date: new Date().toISOString(),
      options: opts,
      machine,
      baton: build,
      goals: GOALS,
      appSteps: APP_STEPS,
      firstDeploy: first,
      steady,
      deploys: rows,
      medians,
      total,
    });
    console.log(`\nRaw results: ${file}`);
    await stop(0);
  } catch (error) {
    if (server !== undefined && server.log.length > 0) progress(`server log:\n${server.log.join("").slice(-4000)}`);
    await stop(1, `failed: ${error?.message ?? error}`);
  }
}

main();
