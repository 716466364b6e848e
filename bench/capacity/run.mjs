#!/usr/bin/env node
// Capacity benchmark: how many keep-alive client connections and WebSockets one `baton router`
// process holds on this machine, and what they cost it in memory and CPU. See README.md beside
// this file.
//
//   node bench/capacity/run.mjs [--connections 10000] [--websockets 1000] [--rounds 3] ...
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { batonBuild, dist, MAIN, machine as measuredOn, reporter, writeResults } from "../baton.mjs";
import { readOptions } from "../options.mjs";
import { CLK_TCK } from "../router/measure.mjs";
import { assertAlive, freePort, httpGet, Processes } from "../router/proxies.mjs";

const UPSTREAM = dist("test/fixtures/upstream.js");
const HELD = dist("test/capacity-load.js");
const CLIENT = dist("src/router/client.js");
const OPTIONS = dist("src/router/options.js");
/** File descriptors besides the held sockets: upstream pool, listeners, logs, node itself. */
const FD_MARGIN = 1_024;
/** Descriptors the router needs besides two per connection in a burst (listeners, logs, node). */
const BURST_FD_MARGIN = 256;

const USAGE = `usage: node bench/capacity/run.mjs [options]
  --connections N   keep-alive client connections held at once (default 10000)
  --websockets N    WebSockets opened while those are held (default 1000)
  --rounds N        rounds in which every connection sends one request (default 3)
  --concurrency N   requests in flight at once within a round (default 256)
  --burst           at the end, with the WebSockets closed, one round with every connection sending
                    at once (as many connections as the router's open-file limit allows: each
                    request in flight holds a second descriptor, its instance connection)
  --ws-seconds S    how long the WebSockets exchange messages (default 20)
  --ws-interval MS  each WebSocket sends one message per interval (default 2000)
  --sources N       spread client sockets over 127.0.0.1..N (default 4)
  --repeat N        the whole run N times with a fresh router each; tables show medians (default 1)`;

function options() {
  const { int, values } = readOptions({
    usage: USAGE,
    fail,
    options: {
      connections: { type: "string", default: "10000" },
      websockets: { type: "string", default: "1000" },
      rounds: { type: "string", default: "3" },
      concurrency: { type: "string", default: "256" },
      burst: { type: "boolean", default: false },
      "ws-seconds": { type: "string", default: "20" },
      "ws-interval": { type: "string", default: "2000" },
      sources: { type: "string", default: "4" },
      repeat: { type: "string", default: "1" },
    },
  });
  return {
    connections: int("connections", 1, 50_000),
    websockets: int("websockets", 0, 10_000),
    rounds: int("rounds", 1, 20),
    concurrency: int("concurrency", 1, 50_000),
    burst: values.burst === true,
    wsSeconds: int("ws-seconds", 1, 600),
    wsIntervalMs: int("ws-interval", 100, 60_000),
    sources: int("sources", 1, 200),
    repeat: int("repeat", 1, 10),
  };
}

const { fail, progress } = reporter("bench:capacity");

/** The soft "Max open files" limit of a process (Node raises its own soft limit to the hard one). */
function fdLimit(pid = "self") {
  const line = readFileSync(`/proc/${pid}/limits`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"));
  return Number(line?.trim().split(/\s+/)[3]);
}

/**
 * This process holds every client socket and the router every server-side one, so both need more
 * descriptors than the usual 1024. When the limit is too low, re-run this script under
 * `prlimit --nofile=N:N` (root, or a hard limit already high enough); the router and upstreams,
 * our children, inherit it.
 */
function ensureFdLimit(opts) {
  // The router opens one instance connection per request in flight (it caps only idle ones).
  // --burst is sized to the limit it finds (runOnce), so it adds nothing here.
  const needed = opts.connections + Math.min(opts.concurrency, opts.connections) + 2 * opts.websockets + FD_MARGIN;
  if (fdLimit() >= needed) return needed;
  if (process.env.BATON_CAPACITY_REEXEC === "1")
    fail(`open-file limit still ${fdLimit()} after prlimit; need ${needed}`);
  const prlimit = spawnSync("sh", ["-c", "command -v prlimit"], { encoding: "utf8" }).stdout.trim();
  if (prlimit === "") fail(`open-file limit ${fdLimit()} < ${needed}; run \`ulimit -n ${needed}\` first`);
  // Try first, so a limit we may not raise (no CAP_SYS_RESOURCE) is said plainly.
  if (spawnSync(prlimit, [`--nofile=${needed}:${needed}`, "--", "true"], { stdio: "ignore" }).status !== 0)
    fail(`open-file limit ${fdLimit()} < ${needed}, and raising it is not permitted here; lower --connections`);
  progress(`open-file limit ${fdLimit()} < ${needed}: re-running under prlimit --nofile=${needed}:${needed}`);
  const r = spawnSync(prlimit, [`--nofile=${needed}:${needed}`, "--", process.execPath, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, BATON_CAPACITY_REEXEC: "1" },
  });
  process.exit(r.status ?? 1);
}

// ---- the router process, read from /proc ----

function procStatus(pid) {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return { rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
}

function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
}

const fdCount = (pid) => readdirSync(`/proc/${pid}/fd`).length;

/** Per-stage figures of one process: RSS at the end, peak RSS sampled every 100 ms, CPU seconds, fds. */
class StageMeter {
  constructor(pid) {
    this.pid = pid;
    this.stages = [];
  }

  begin(name) {
    this.current = { name, startedAt: performance.now(), cpuBefore: cpuSeconds(this.pid), peakKb: 0, peakFds: 0 };
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }

  sample() {
    try {
      this.current.peakKb = Math.max(this.current.peakKb, procStatus(this.pid).rssKb);
      this.current.peakFds = Math.max(this.current.peakFds, fdCount(this.pid));
    } catch {
      // the process is gone; assertAlive reports it
    }
  }

  end(extra = {}) {
    clearInterval(this.timer);
    this.sample();
    const c = this.current;
    const stage = {
      name: c.name,
      seconds: (performance.now() - c.startedAt) / 1000,
      rssMb: procStatus(this.pid).rssKb / 1024,
      peakRssMb: c.peakKb / 1024,
      cpuSeconds: cpuSeconds(this.pid) - c.cpuBefore,
      fds: fdCount(this.pid),
      peakFds: c.peakFds,
      ...extra,
    };
    this.stages.push(stage);
    return stage;
  }
}

// ---- processes ----

async function waitFor(what, check, child, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    assertAlive(child);
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await sleep(100);
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms${last ? `: ${last.message}` : ""}`);
}

async function startUpstream(processes, dir, id) {
  const port = await freePort();
  const logFile = join(dir, `upstream-${id}.log`);
  const child = processes.start(`upstream ${id}`, process.execPath, [UPSTREAM], logFile, {
    env: { ...process.env, ID: id, PORT: String(port) },
  });
  const p = { name: `upstream ${id}`, pid: child.pid, child, port, logFile };
  await waitFor(p.name, async () => (await httpGet(port, "/id")).status === 200, p);
  return p;
}

/** `baton router` as its own process, set up over its admin socket as the control plane does. */
async function startRouter(processes, dir, upstreams) {
  const { RouterClient } = await import(CLIENT);
  const { ROUTER_NODE_FLAGS } = await import(OPTIONS);
  const home = join(dir, "router-home");
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const port = await freePort();
  const logFile = join(dir, "router.log");
  const args = [...ROUTER_NODE_FLAGS, MAIN, "router", "--port", String(port), "--host", "127.0.0.1", "--home", home];
  const child = processes.start("baton router", process.execPath, args, logFile, {
    env: { ...process.env, BATON_LOG_LEVEL: "warn" },
  });
  const p = { name: "baton router", pid: child.pid, child, port, logFile };
  const client = new RouterClient(join(home, "router.sock"), 5_000);
  await waitFor("router admin API", async () => (await client.health()).ok, p);
  await client.putApp({ name: "capacity", domains: ["capacity.localhost"], isDefault: true });
  await client.swap("capacity", {
    id: "p1",
    release: "v1",
    targets: upstreams.map((u) => ({ host: "127.0.0.1", port: u.port })),
  });
  await waitFor("router", async () => (await httpGet(port, "/id")).status === 200, p);
  return { ...p, client };
}

// ---- one run ----

function summarizeRound(name, r) {
  return {
    name,
    requests: r.requests,
    ok: r.ok,
    failed: r.failed,
    failures: r.failures,
    p50Ms: quantileOf(r.latenciesMs, 0.5),
    p99Ms: quantileOf(r.latenciesMs, 0.99),
    maxMs: r.latenciesMs.length === 0 ? null : r.latenciesMs.reduce((a, b) => Math.max(a, b), 0),
  };
}

let quantileOf;

async function runOnce(opts, index, processes, lib) {
  const dir = mkdtempSync(join(tmpdir(), "baton-bench-capacity-"));
  progress(`run ${index + 1}/${opts.repeat}: temp dir ${dir}`);
  const upstreams = [await startUpstream(processes, dir, "a"), await startUpstream(processes, dir, "b")];
  const router = await startRouter(processes, dir, upstreams);
  const routerFdLimit = fdLimit(router.pid);
  const meter = new StageMeter(router.pid);
  const sources = Array.from({ length: opts.sources }, (_, i) => `127.0.0.${i + 1}`);
  const target = { port: router.port, sourceAddresses: sources };
  const held = new lib.HeldConnections(target, opts.connections);
  const sockets = new lib.HeldWebSockets(target);
  const rounds = [];
  const alive = () => {
    for (const p of [router, ...upstreams]) assertAlive(p);
  };
  // Every stage is bounded: a round may take at most this long before it stops sending.
  const roundBudgetMs = 120_000;
  try {
    // A few requests so the JIT and the upstream pool are past their first-request costs.
    meter.begin("baseline (router started, 200 warm-up requests)");
    const warm = new lib.HeldConnections(target, 20);
    for (let i = 0; i < 10; i++) await warm.round("/id", 20, performance.now() + 30_000);
    warm.close();
    await sleep(1_000);
    const baseline = meter.end();

    for (let r = 1; r <= opts.rounds; r++) {
      meter.begin(`round ${r}: ${opts.connections} connections x 1 request, ${opts.concurrency} in flight`);
      const result = await held.round("/id", opts.concurrency, performance.now() + roundBudgetMs);
      const stage = meter.end({ openConnections: held.open });
      rounds.push({ ...summarizeRound(`round ${r}`, result), stage: stage.name, openAfter: held.open });
      alive();
      progress(`round ${r}: ${result.ok} ok, ${result.failed} failed, ${held.open} connections open`);
    }

    meter.begin(`idle: ${opts.connections} keep-alive connections held, 5 s`);
    await sleep(5_000);
    const idle = meter.end({ openConnections: held.open });

    let wsOpen;
    let wsExchange;
    let wsIdle;
    if (opts.websockets > 0) {
      meter.begin(`open ${opts.websockets} WebSockets (keep-alive connections still held)`);
      await sockets.openAll(opts.websockets, 200);
      wsOpen = meter.end({ websocketsOpen: sockets.open });
      progress(`websockets: ${sockets.opened} opened, ${sockets.failedToOpen} failed`);
      meter.begin(
        `${opts.websockets} WebSockets: a message each every ${opts.wsIntervalMs} ms for ${opts.wsSeconds} s`,
      );
      const exchange = await sockets.exchange(opts.wsSeconds * 1000, opts.wsIntervalMs);
      wsExchange = { ...summarizeRound("websocket echoes", exchange), ...meter.end({ websocketsOpen: sockets.open }) };
      alive();
      progress(`websocket echoes: ${exchange.ok} ok, ${exchange.failed} failed`);
      meter.begin(`idle: WebSockets and keep-alive connections held, 5 s`);
      await sleep(5_000);
      wsIdle = meter.end({ websocketsOpen: sockets.open, openConnections: held.open });
    }

    meter.begin(`final round: ${opts.connections} connections x 1 request with the WebSockets open`);
    const last = await held.round("/id", opts.concurrency, performance.now() + roundBudgetMs);
    meter.end({ openConnections: held.open });
    rounds.push({ ...summarizeRound("final round", last), stage: meter.stages.at(-1).name, openAfter: held.open });
    alive();

    // Someone new still gets an answer while all of that is held.
    const fresh = await httpGet(router.port, "/id").then(
      (r) => r.status,
      (e) => e.message,
    );

    const heldAtEnd = held.open;
    const wsAtEnd = sockets.open;
    await sockets.close();

    let burstAt = null;
    if (opts.burst) {
      // One instance connection per request in flight: a burst needs two descriptors per
      // connection in the router, so it uses as many connections as its open-file limit allows.
      burstAt = Math.min(opts.connections, Math.floor((routerFdLimit - BURST_FD_MARGIN) / 2));
      meter.begin(`burst (WebSockets closed): ${burstAt} connections x 1 request, all at once`);
      const result = await held.round("/id", burstAt, performance.now() + roundBudgetMs, burstAt);
      const stage = meter.end({ openConnections: held.open });
      rounds.push({ ...summarizeRound("burst", result), stage: stage.name, openAfter: held.open });
      alive();
      progress(`burst over ${burstAt} connections: ${result.ok} ok, ${result.failed} failed`);
    }

    meter.begin("everything closed, 3 s later");
    held.close();
    await sleep(3_000);
    const closed = meter.end();

    const mem = {
      perConnectionKb: ((idle.rssMb - baseline.rssMb) * 1024) / opts.connections,
      perWebSocketKb: wsIdle ? ((wsIdle.rssMb - idle.rssMb) * 1024) / Math.max(1, sockets.opened) : null,
    };
    return {
      routerFdLimit,
      burstConnections: burstAt,
      connections: {
        wanted: opts.connections,
        opened: held.opened,
        reconnects: held.reconnects,
        closedUnderUs: held.closedUnderUs,
        openAtEnd: heldAtEnd,
      },
      websockets: {
        wanted: opts.websockets,
        opened: sockets.opened,
        failedToOpen: sockets.failedToOpen,
        openFailures: sockets.openFailures,
        closedUnderUs: sockets.closedUnderUs,
        openAtEnd: wsAtEnd,
        exchange: wsExchange ?? null,
        open: wsOpen ?? null,
      },
      rounds,
      freshRequestStatus: fresh,
      stages: meter.stages,
      memory: mem,
      peakRssMb: Math.max(...meter.stages.map((s) => s.peakRssMb)),
      closed,
    };
  } finally {
    held.close();
    await sockets.close(2_000);
    await processes.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- report ----

const median = (values) => {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const f = (n, d = 1) => (n == null ? "—" : Number(n).toFixed(d));

function table(header, rows) {
  const out = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, c) => Math.max(...out.map((r) => r[c].length)));
  return out
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "))
    .join("\n");
}

function report(opts, runs) {
  const lines = [];
  const first = runs[0];
  const med = (pick) => median(runs.map(pick));
  lines.push(
    `Connections: ${med((r) => r.connections.opened)} opened of ${opts.connections} wanted, ${med((r) => r.connections.reconnects)} reconnects, ${med((r) => r.connections.closedUnderUs)} closed by the router, ${med((r) => r.connections.openAtEnd)} open at the end`,
  );
  if (opts.websockets > 0)
    lines.push(
      `WebSockets: ${med((r) => r.websockets.opened)} opened of ${opts.websockets}, ${med((r) => r.websockets.failedToOpen)} failed to open, ${med((r) => r.websockets.closedUnderUs)} closed under us, ${med((r) => r.websockets.openAtEnd)} open at the end`,
    );
  lines.push("", `Requests (median of ${runs.length} run(s)):`);
  lines.push(
    table(
      ["round", "requests", "ok", "failed", "p50 ms", "p99 ms", "max ms"],
      first.rounds
        .map((row, i) => [
          row.name,
          med((r) => r.rounds[i]?.requests),
          med((r) => r.rounds[i]?.ok),
          med((r) => r.rounds[i]?.failed),
          f(
            med((r) => r.rounds[i]?.p50Ms),
            2,
          ),
          f(
            med((r) => r.rounds[i]?.p99Ms),
            2,
          ),
          f(
            med((r) => r.rounds[i]?.maxMs),
            0,
          ),
        ])
        .concat(
          first.websockets.exchange
            ? [
                [
                  "websocket echoes",
                  med((r) => r.websockets.exchange.requests),
                  med((r) => r.websockets.exchange.ok),
                  med((r) => r.websockets.exchange.failed),
                  f(
                    med((r) => r.websockets.exchange.p50Ms),
                    2,
                  ),
                  f(
                    med((r) => r.websockets.exchange.p99Ms),
                    2,
                  ),
                  f(
                    med((r) => r.websockets.exchange.maxMs),
                    0,
                  ),
                ],
              ]
            : [],
        ),
    ),
  );
  lines.push("", "Router process per stage (RSS from /proc/PID/status VmRSS, CPU = utime+stime from /proc/PID/stat):");
  lines.push(
    table(
      ["stage", "seconds", "RSS MB", "peak RSS MB", "CPU s", "fds", "peak fds"],
      first.stages.map((s, i) => [
        s.name,
        f(
          med((r) => r.stages[i]?.seconds),
          1,
        ),
        f(
          med((r) => r.stages[i]?.rssMb),
          1,
        ),
        f(
          med((r) => r.stages[i]?.peakRssMb),
          1,
        ),
        f(
          med((r) => r.stages[i]?.cpuSeconds),
          2,
        ),
        med((r) => r.stages[i]?.fds),
        med((r) => r.stages[i]?.peakFds),
      ]),
    ),
  );
  lines.push(
    "",
    `Router peak RSS: ${f(med((r) => r.peakRssMb))} MB; memory per idle keep-alive connection: ${f(
      med((r) => r.memory.perConnectionKb),
      1,
    )} KB (idle RSS minus baseline, / connections); per WebSocket: ${f(
      med((r) => r.memory.perWebSocketKb),
      1,
    )} KB (RSS with WebSockets minus without, / WebSockets; a WebSocket is a client socket and an instance socket)`,
    `A fresh request while all of it was held: ${runs.map((r) => r.freshRequestStatus).join(", ")}; router open-file limit ${first.routerFdLimit}`,
  );
  const failed =
    runs.reduce((n, r) => n + r.rounds.reduce((m, x) => m + x.failed, 0) + (r.websockets.exchange?.failed ?? 0), 0) +
    runs.reduce((n, r) => n + r.websockets.failedToOpen + r.connections.closedUnderUs + r.websockets.closedUnderUs, 0);
  lines.push(`Failures in all runs (failed requests, echoes, WebSocket opens, connections lost): ${failed}`);
  return { text: lines.join("\n"), failed };
}

async function main() {
  const opts = options();
  for (const file of [MAIN, UPSTREAM, HELD])
    if (!existsSync(file)) fail(`${file} missing; run \`npm run build\` first`);
  const fdNeeded = ensureFdLimit(opts);
  const command = `node bench/capacity/run.mjs ${process.argv.slice(2).join(" ")}`.trim();
  const lib = await import(HELD);
  quantileOf = lib.quantile;
  const processes = new Processes();
  const stop = processes.exitHandler("bench:capacity");

  console.log(`Command: \`${command}\` (open-file limit ${fdLimit()}, needed ${fdNeeded})`);
  const runs = [];
  try {
    for (let i = 0; i < opts.repeat; i++) runs.push(await runOnce(opts, i, processes, lib));
  } catch (error) {
    await stop(1, `failed: ${error?.stack ?? error}`);
  }
  const machine = measuredOn();
  const build = batonBuild();
  console.log(`Machine: ${machine.cpus}, Linux ${machine.kernel}, node ${machine.node}`);
  console.log(`baton: commit ${build.commit}${build.srcUncommittedChanges ? " + uncommitted src changes" : ""}\n`);
  const { text, failed } = report(opts, runs);
  console.log(text);
  const file = writeResults("capacity", {
    command,
    date: new Date().toISOString(),
    options: opts,
    machine,
    baton: build,
    runs,
  });
  console.log(`\nRaw results: ${file}`);
  process.exit(failed === 0 ? 0 : 2);
}

main();
