#!/usr/bin/env node
// Soak: `baton server` on a temp home with examples/hello under steady, moderate load, deployed
// every minute (two versions in turn), for 30 minutes by default. Samples memory and descriptors
// every 10 s and judges: zero failed requests, and no memory growth after a warm-up. See
// README.md beside this file.
//
//   node bench/soak/run.mjs [--minutes 30] [--deploy-every 60] [--sample-every 10] [--connections 4]
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
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
import { judgeMemory, memoryLines } from "./judge.mjs";

const LOAD = dist("src/load/load.js");
const PORTS = dist("src/supervisor/ports.js");
const CLIENT = dist("src/router/client.js");
const API_CLIENT = dist("src/api/client.js");
const EXAMPLE = join(ROOT, "examples/hello");
const APP = "hello";
const DEPLOY_TIMEOUT_MS = 120_000;
const USAGE = `usage: node bench/soak/run.mjs [--minutes N] [--deploy-every S] [--sample-every S] [--connections C] [--warmup-minutes N]
  --minutes N         how long the load runs (default 60: the router's first full GC under this
                      load came after about 35 minutes, and memory is judged from full GCs)
  --deploy-every S    seconds between deploy starts (default 60)
  --sample-every S    seconds between memory samples (default 10)
  --connections C     load connections, each sending GET /, POST /api/echo and two GET /slow?ms=20
                      in turn, back to back (default 4, about 200-300 req/s)
  --warmup-minutes N  samples before this are not judged (default 15, or a third of --minutes when
                      that is less)`;

const MB = 1048576;

/** The memory fields of a health answer (src/core/memory.ts), in MB, named for their process. */
function memoryOf(who, m) {
  const mb = (v) => (typeof v === "number" ? v / MB : null);
  return {
    [`${who}HeapMb`]: mb(m?.heapUsedBytes),
    [`${who}LiveHeapMb`]: mb(m?.heapAfterMajorGcBytes),
    [`${who}HeapTotalMb`]: mb(m?.heapTotalBytes),
    [`${who}ExternalMb`]: mb(m?.externalBytes),
    [`${who}MajorGcs`]: m?.majorGcs ?? null,
  };
}

function options() {
  const { int, values } = readOptions({
    usage: USAGE,
    fail,
    options: {
      minutes: { type: "string", default: "60" },
      "deploy-every": { type: "string", default: "60" },
      "sample-every": { type: "string", default: "10" },
      connections: { type: "string", default: "4" },
      "warmup-minutes": { type: "string" },
    },
  });
  const minutes = int("minutes", 1, 24 * 60);
  if (values["warmup-minutes"] === undefined) values["warmup-minutes"] = String(Math.min(15, Math.floor(minutes / 3)));
  return {
    minutes,
    deployEveryS: int("deploy-every", 10, 3600),
    sampleEveryS: int("sample-every", 1, 600),
    connections: int("connections", 1, 64),
    warmupMinutes: int("warmup-minutes", 0, minutes - 1),
  };
}

const { fail, progress } = reporter("bench:soak", { clock: true });

// ---- /proc ----

function rssMb(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(text)?.[1] ?? Number.NaN) / 1024;
  } catch {
    return null; // gone (an instance stopped by a deploy between listing and reading)
  }
}

function fds(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Two copies of examples/hello that differ, so deploys alternate between two versions of code. */
function appVersions(dir) {
  return ["a", "b"].map((v) => {
    const copy = join(dir, `hello-${v}`);
    cpSync(EXAMPLE, copy, { recursive: true });
    writeFileSync(join(copy, "SOAK_VERSION"), `${v}\n`);
    return { name: v, dir: copy };
  });
}

async function main() {
  const opts = options();
  const command = `node bench/soak/run.mjs ${process.argv.slice(2).join(" ")}`.trim();
  for (const file of [MAIN, LOAD, CLIENT]) if (!existsSync(file)) fail(`${file} missing; run \`npm run build\` first`);
  const { LoadRun } = await import(LOAD);
  const { freePort } = await import(PORTS);
  const { RouterClient } = await import(CLIENT);
  const { ApiClient } = await import(API_CLIENT);
  console.log(`Command: \`${command}\``);

  const work = mkdtempSync(join(tmpdir(), "baton-bench-soak-"));
  const home = join(work, "home");
  mkdirSync(home, { mode: 0o700 });
  const versions = appVersions(work);
  const port = await freePort();
  let server;
  let load;
  const stop = stopper({ home, keep: work, progress, current: () => ({ server, load }) });

  try {
    progress(`starting baton server on port ${port} (home ${home})`);
    server = await startServer(home, port);
    const deploy = async (version) => {
      const r = await baton(home, ["deploy", version.dir, "--app", APP, "--bake", "0", "--json"], DEPLOY_TIMEOUT_MS);
      try {
        return { ...JSON.parse(r.stdout), exit: r.code };
      } catch {
        return { status: "no JSON", exit: r.code ?? r.signal, error: `${r.stdout}${r.stderr}`.slice(-2000) };
      }
    };
    progress("first deploy (before the load; not counted)");
    const first = await deploy(versions[0]);
    if (first.status !== "succeeded") throw new Error(`first deploy: ${first.status}: ${JSON.stringify(first.error)}`);
    const router = new RouterClient(join(home, "router.sock"), 5_000);

    const durationMs = opts.minutes * 60_000;
    load = new LoadRun({
      port,
      hostHeader: `${APP}.localhost`,
      connections: opts.connections,
      maxDurationMs: durationMs + DEPLOY_TIMEOUT_MS,
      maxRequests: 20_000_000,
      requests: [
        { path: "/" },
        { path: "/slow?ms=20" },
        { method: "POST", path: "/api/echo", body: JSON.stringify({ order: 42, items: ["a", "b"] }) },
        { path: "/slow?ms=20" },
      ],
    }).start();

    const samples = [];
    const api = ApiClient.local(home);
    const sample = async () => {
      const health = await router.health().catch(() => undefined);
      const serverHealth = await api.get("/v1/health", 5_000).catch(() => undefined);
      const ps = await baton(home, ["ps", "--app", APP, "--json"], 10_000);
      let instances = [];
      try {
        instances = JSON.parse(ps.stdout);
      } catch {}
      const pids = instances.map((i) => i.pid).filter((p) => typeof p === "number");
      const instanceRss = pids.map(rssMb).filter((v) => v !== null);
      const w = load.window(0, load.now());
      const s = {
        atS: Math.round(load.now() / 100) / 10,
        routerPid: health?.pid ?? null,
        routerRssMb: health ? rssMb(health.pid) : null,
        ...memoryOf("router", health?.memory),
        routerFds: health ? fds(health.pid) : null,
        serverRssMb: rssMb(server.child.pid),
        ...memoryOf("server", serverHealth?.memory),
        serverFds: fds(server.child.pid),
        instances: pids.length,
        instanceRssMb: instanceRss.reduce((a, b) => a + b, 0),
        requests: w.requests,
        failed: w.failed,
      };
      samples.push(s);
      return s;
    };

    const deploys = [];
    let nextDeployAt = opts.deployEveryS * 1000;
    let nextSampleAt = 0;
    let turn = 1;
    let deploying;
    progress(`load on; ${opts.minutes} min, a deploy every ${opts.deployEveryS} s`);
    while (load.now() < durationMs) {
      if (load.now() >= nextSampleAt) {
        const s = await sample();
        nextSampleAt += opts.sampleEveryS * 1000;
        progress(
          `t=${s.atS}s router ${s.routerRssMb?.toFixed(1)} MB (heap ${s.routerHeapMb?.toFixed(1)}, after GC ${s.routerLiveHeapMb?.toFixed(1) ?? "none yet"}, total ${s.routerHeapTotalMb?.toFixed(1)}, external ${s.routerExternalMb?.toFixed(1)}, ${s.routerMajorGcs} GCs), server ${s.serverRssMb?.toFixed(1)} MB (heap ${s.serverHeapMb?.toFixed(1)}, after GC ${s.serverLiveHeapMb?.toFixed(1) ?? "none yet"}, total ${s.serverHeapTotalMb?.toFixed(1)}, external ${s.serverExternalMb?.toFixed(1)}, ${s.serverMajorGcs} GCs), ${s.instances} instances ${s.instanceRssMb.toFixed(1)} MB; ${s.requests} requests, ${s.failed} failed`,
        );
      }
      if (deploying === undefined && load.now() >= nextDeployAt && load.now() < durationMs - 5_000) {
        const version = versions[turn % 2];
        const from = load.now();
        const n = turn++;
        nextDeployAt += opts.deployEveryS * 1000;
        deploying = deploy(version).then((json) => {
          const w = load.window(from, load.now());
          deploys.push({
            n,
            code: version.name,
            version: json.version ?? null,
            status: json.status,
            durationMs: json.durationMs ?? null,
            requests: w.requests,
            failed: w.failed,
            failures: w.failures,
            ...(json.status === "succeeded" ? {} : { error: json.error }),
          });
          progress(
            `deploy ${n} (code ${version.name}, v${json.version}): ${json.status}, ${w.requests} requests, ${w.failed} failed`,
          );
          deploying = undefined;
        });
      }
      await sleep(200);
    }
    await deploying;
    await sample();
    const total = await load.stop();
    load = undefined;

    // ---- judging (judge.mjs says why on the heap after full GCs, not on RSS's slope) ----
    const memory = judgeMemory(samples, opts.warmupMinutes);
    const deploysFailed = deploys.filter((d) => d.status !== "succeeded").length;
    const trafficOk = total.failed === 0 && deploysFailed === 0 && deploys.length > 0;
    const pass = trafficOk && (memory.ok || !memory.longEnough);
    const verdict =
      !trafficOk || (memory.judged && !memory.ok) ? "FAIL" : memory.inconclusive ? "INCONCLUSIVE" : "PASS";

    const f = (n, d = 1) => (n == null ? "—" : Number(n).toFixed(d));
    const machine = measuredOn();
    const build = batonBuild();
    console.log(`Machine: ${machine.cpus}, Linux ${machine.kernel}, node ${machine.node}`);
    console.log(`baton: commit ${build.commit}${build.srcUncommittedChanges ? " + uncommitted src changes" : ""}\n`);
    console.log("deploy  code  version  status     ms     requests  failed");
    for (const d of deploys)
      console.log(
        `${String(d.n).padStart(6)}  ${d.code.padEnd(4)}  ${`v${d.version}`.padStart(7)}  ${String(d.status).padEnd(9)}  ${String(d.durationMs ?? "").padStart(5)}  ${String(d.requests).padStart(8)}  ${String(d.failed).padStart(6)}${d.failed ? ` ${JSON.stringify(d.failures)}` : ""}`,
      );
    const firstAfter = samples.find((s) => s.atS >= opts.warmupMinutes * 60);
    const last = samples.at(-1);
    console.log(
      [
        "",
        `Load: ${total.requests} requests (${total.rps} req/s), ${total.failed} failed${total.failed ? ` ${JSON.stringify(total.failures)}` : ""}; p50 ${total.p50Ms} ms, p99 ${total.p99Ms} ms`,
        `Deploys: ${deploys.length}, ${deploysFailed} not succeeded`,
        ...memoryLines(memory),
        `  instances (all, summed) ${f(firstAfter?.instanceRssMb)} -> ${f(last?.instanceRssMb)} MB`,
        `Verdict: ${verdict} (0 failed requests, every deploy succeeded${memory.longEnough ? ", no memory growth" : ""})`,
      ].join("\n"),
    );

    const file = writeResults("soak", {
      command,
      date: new Date().toISOString(),
      options: opts,
      machine,
      baton: build,
      verdict,
      pass,
      total,
      deploys,
      memory,
      samples,
    });
    console.log(`\nRaw results: ${file}`);
    await stop(verdict === "PASS" ? 0 : verdict === "INCONCLUSIVE" ? 3 : 2);
  } catch (error) {
    if (server !== undefined && server.log.length > 0) progress(`server log:\n${server.log.join("").slice(-4000)}`);
    await stop(1, `failed: ${error?.stack ?? error}`);
  }
}

main();
