import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BatonError } from "../core/errors.js";
import { routerPaths } from "../core/home.js";
import { waitFor } from "../core/wait.js";
import { LoadRun, type WindowStats } from "../load/load.js";
import { RouterClient } from "../router/client.js";
import { ROUTER_NODE_FLAGS } from "../router/options.js";
import type { PoolSpec } from "../router/pool.js";
import { Instance } from "../supervisor/instance.js";
import { freePort } from "../supervisor/ports.js";
import { waitReady } from "../supervisor/readiness.js";
import { warmUp } from "../supervisor/warmup.js";
import { intOption, parse } from "./args.js";

export const summary = "deploy the example app three times and roll back, under live load";

export const usage = `baton demo [--instances 2] [--connections 16] [--json]

Starts baton's router in its own process on a free port, boots examples/hello (v1) behind it,
puts steady load on it (GETs, POSTs with bodies, 300 ms requests), deploys v2 and v3 with preboot
(boot beside the old release, readiness, warm-up, atomic swap, drain, stop) and rolls back to v2.
Prints failed requests and latency for each deploy against steady state; exits 1 if any failed.`;

const APP = "hello";
const EXAMPLE_DIR = fileURLToPath(new URL("../../../examples/hello", import.meta.url));
const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

interface Live {
  release: string;
  pool: PoolSpec;
  instances: Instance[];
}

interface PhaseReport {
  phase: string;
  stats: WindowStats;
  bootMs?: number;
  warmupMs?: number;
  switchMs?: number;
  drainMs?: number;
  totalMs?: number;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    instances: { type: "string" },
    connections: { type: "string" },
    json: { type: "boolean" },
  });
  const instances = intOption(values.instances, "instances") ?? 2;
  const connections = intOption(values.connections, "connections") ?? 16;
  const say = values.json ? () => {} : (line: string) => process.stdout.write(`${line}\n`);
  const home = mkdtempSync(join(tmpdir(), "baton-demo-"));
  const paths = routerPaths(home);
  const port = await freePort();
  let routerProcess: ChildProcess | undefined;
  const running: Instance[] = [];
  try {
    say(`baton demo: router on http://127.0.0.1:${port} (state in ${home})`);
    routerProcess = spawn(
      process.execPath,
      [...ROUTER_NODE_FLAGS, MAIN, "router", "--port", String(port), "--host", "127.0.0.1", "--home", home],
      {
        stdio: ["ignore", "ignore", "inherit"],
        env: { ...process.env, BATON_LOG_LEVEL: "warn" },
      },
    );
    const router = new RouterClient(paths.adminSocket);
    await waitFor("the router's admin socket", () => router.health().then((h) => (h.ok ? h : undefined)), {
      timeoutMs: 15_000,
    });
    await router.putApp({ name: APP, domains: [`${APP}.localhost`], isDefault: true });

    const boot = async (release: string): Promise<Live & { bootMs: number; warmupMs: number }> => {
      const started = Date.now();
      const booted = await Promise.all(
        Array.from({ length: instances }, async (_, i) => {
          const instance = new Instance({
            type: "web",
            release,
            command: "node server.js",
            cwd: EXAMPLE_DIR,
            env: { ...process.env, BATON_RELEASE: release } as Record<string, string>,
            port: await freePort(),
            logPath: join(home, `${release}.web.${i + 1}.log`),
          });
          running.push(instance);
          await waitReady(
            instance.spec.port,
            { path: "/health", passes: 2, intervalMs: 100, timeoutMs: 1_000, bootTimeoutMs: 30_000 },
            instance.exited,
          );
          return instance;
        }),
      );
      const bootMs = Date.now() - started;
      await Promise.all(
        booted.map((i) =>
          warmUp(i.spec.port, { paths: ["/", "/slow?ms=1"], count: 30, concurrency: 4, timeoutMs: 5_000 }),
        ),
      );
      return {
        release,
        instances: booted,
        pool: {
          id: `${release}-${Date.now()}`,
          release,
          targets: booted.map((i) => ({ host: "127.0.0.1", port: i.spec.port })),
          healthPath: "/health",
        },
        bootMs,
        warmupMs: Date.now() - started - bootMs,
      };
    };

    say(`booting v1 (${instances} instances of examples/hello, ~1.5 s boot, cold first requests)…`);
    let live: Live = await boot("v1");
    await router.swap(APP, live.pool);

    const load = new LoadRun({
      port,
      hostHeader: `${APP}.localhost`,
      connections,
      maxDurationMs: 180_000,
      maxRequests: 5_000_000,
      requests: [
        { path: "/" },
        { method: "POST", path: "/api/echo", body: JSON.stringify({ order: 42, items: ["a", "b"] }) },
        { path: "/slow?ms=300" },
        { path: "/" },
      ],
    }).start();

    const reports: PhaseReport[] = [];
    const steadyFrom = load.now();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    reports.push({ phase: "steady state", stats: load.window(steadyFrom, load.now()) });

    const deploy = async (phase: string, release: string): Promise<void> => {
      say(`${phase}: booting ${release} beside ${live.release}, proving, warming, switching, draining…`);
      const from = load.now();
      const next = await boot(release);
      const t0 = Date.now();
      const { previous } = await router.swap(APP, next.pool);
      const switchMs = Date.now() - t0;
      const t1 = Date.now();
      if (previous !== null) await router.drain(previous.id, { timeoutMs: 10_000, streamCloseWindowMs: 500 });
      await Promise.all(live.instances.map((i) => i.stop(10_000)));
      const drainMs = Date.now() - t1;
      live = next;
      const stats = load.window(from, load.now());
      reports.push({
        phase,
        stats,
        bootMs: next.bootMs,
        warmupMs: next.warmupMs,
        switchMs,
        drainMs,
        totalMs: Math.round(load.now() - from),
      });
      say(`  ${phase}: ${stats.requests} requests, ${stats.failed} failed, p99 ${stats.p99Ms} ms`);
    };

    await deploy("deploy v2", "v2");
    await deploy("deploy v3", "v3");
    await deploy("rollback to v2", "v2");
    const settleFrom = load.now();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    reports.push({ phase: "after", stats: load.window(settleFrom, load.now()) });
    const total = await load.stop();

    if (values.json) process.stdout.write(`${JSON.stringify({ reports, total }, null, 2)}\n`);
    else say(`\n${table(reports, total)}`);
    const failed = total.failed;
    say(
      failed === 0
        ? `\n0 failed requests out of ${total.requests} across 3 deploys. Every deploy was invisible to users.`
        : `\n${failed} of ${total.requests} requests failed: ${JSON.stringify(total.failures)}`,
    );
    return failed === 0 ? 0 : 1;
  } catch (error) {
    throw new BatonError("BATON_DEMO_FAILED", `demo failed: ${(error as Error).message}`, {
      cause: error,
      hint: `instance logs are in ${home}`,
    });
  } finally {
    await Promise.all(running.map((i) => i.stop(5_000)));
    if (routerProcess !== undefined && routerProcess.exitCode === null) {
      const exited = new Promise((resolve) => routerProcess?.once("exit", resolve));
      routerProcess.kill("SIGTERM");
      await exited;
    }
    rmSync(home, { recursive: true, force: true });
  }
}

function table(reports: PhaseReport[], total: WindowStats): string {
  const rows = [
    [
      "phase",
      "requests",
      "failed",
      "p50 ms",
      "p99 ms",
      "max ms",
      "boot ms",
      "warm-up ms",
      "switch ms",
      "drain+stop ms",
    ],
    ...reports.map((r) => [
      r.phase,
      String(r.stats.requests),
      String(r.stats.failed),
      r.stats.p50Ms.toFixed(1),
      r.stats.p99Ms.toFixed(1),
      r.stats.maxMs.toFixed(1),
      r.bootMs === undefined ? "" : String(r.bootMs),
      r.warmupMs === undefined ? "" : String(r.warmupMs),
      r.switchMs === undefined ? "" : String(r.switchMs),
      r.drainMs === undefined ? "" : String(r.drainMs),
    ]),
    [
      "total",
      String(total.requests),
      String(total.failed),
      total.p50Ms.toFixed(1),
      total.p99Ms.toFixed(1),
      total.maxMs.toFixed(1),
    ],
  ];
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join("  "))
    .join("\n");
}
