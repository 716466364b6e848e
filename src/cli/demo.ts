import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ApiClient } from "../api/client.js";
import type { TimeSplit } from "../api/views.js";
import { BatonError } from "../core/errors.js";
import { waitFor } from "../core/wait.js";
import { LoadRun, type WindowStats } from "../load/load.js";
import { freePort } from "../supervisor/ports.js";
import { intOption, parse } from "./args.js";
import { renderTable } from "./table.js";

export const summary = "deploy the example app three times and roll back, under live load";

export const usage = `baton demo [--connections 16] [--json]

Starts a baton server (control plane + router) on a temporary home and a free port, deploys
examples/hello (v1: 2 instances, a 1.5 s boot, slow first requests), puts steady load on it (GETs,
POSTs with bodies, 300 ms requests), deploys v2 and v3 and rolls back, each through the real
pipeline (stage, build, boot beside the old release, readiness, warm-up, atomic switch, drain,
stop). Prints failed requests and latency for each deploy against steady state, and how long
each deploy took; exits 1 if any request failed. Everything it started is stopped at the end.`;

const APP = "hello";
const EXAMPLE_DIR = fileURLToPath(new URL("../../../examples/hello", import.meta.url));
const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

interface StepView {
  name: string;
  status: string;
  durationMs: number | null;
}

interface PhaseReport {
  phase: string;
  stats: WindowStats;
  deploy?: {
    id: number;
    status: string;
    version: number;
    durationMs: number;
    failedRequests: number;
    steps: StepView[];
    time?: TimeSplit;
  };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { connections: { type: "string" }, json: { type: "boolean" } });
  const connections = intOption(values.connections, "connections") ?? 16;
  const say = values.json ? () => {} : (line: string) => process.stdout.write(`${line}\n`);
  const home = mkdtempSync(join(tmpdir(), "baton-demo-"));
  const port = await freePort();
  let server: ChildProcess | undefined;
  let api: ApiClient | undefined;
  try {
    say(`baton demo: starting \`baton server --port ${port}\` (state in ${home})`);
    // The demo runs baton's own example app on a throwaway home: as root (a container, CI) it says
    // so explicitly rather than asking for an app user the machine may not have.
    const asRoot = process.geteuid?.() === 0 ? ["--allow-root-apps"] : [];
    server = spawn(process.execPath, [MAIN, "server", "--home", home, "--port", String(port), ...asRoot], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, BATON_LOG_LEVEL: "warn" },
    });
    const exited = new Promise((resolve) => server?.once("exit", resolve));
    api = await waitFor(
      "the server's API",
      async () => {
        const client = ApiClient.local(home);
        return (await client.get("/v1/health", 2_000)) ? client : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const deploy = async (
      label: string,
      path: string,
      body: unknown,
      expected = "succeeded",
    ): Promise<NonNullable<PhaseReport["deploy"]>> => {
      const result = (await (api as ApiClient).stream("POST", path, body, () => {})) as unknown as NonNullable<
        PhaseReport["deploy"]
      >;
      if (result.status !== expected) {
        throw new BatonError(
          "BATON_DEMO_FAILED",
          `${label} ended ${result.status}: ${JSON.stringify((result as { error?: unknown }).error)}`,
        );
      }
      return result;
    };
    const deployPath = `/v1/apps/${APP}/deploys`;
    const source = { source: { dir: EXAMPLE_DIR } };
    say("deploy v1: stage, build, boot, readiness, warm-up, switch…");
    await deploy("deploy v1", deployPath, source);

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
    const phase = async (label: string, body: unknown): Promise<void> => {
      const from = load.now();
      const result = await deploy(label, deployPath, body);
      const stats = load.window(from, load.now());
      reports.push({ phase: label, stats, deploy: result });
      say(
        `  v${result.version} live: ${stats.requests} requests during the deploy, ${stats.failed} failed, p99 ${stats.p99Ms.toFixed(0)} ms`,
      );
    };
    say("deploy v2 (preboot): boot beside v1, prove, switch at once, drain; v1 on standby for a 5 s bake…");
    await phase("deploy v2", source);
    say("canary v3: 20% of users for 3 s (the judge watching), then everyone; v2 on standby for the bake…");
    await phase("canary v3", { ...source, strategy: "canary" });

    // Instant rollback: deploy v4, and while v3 waits on standby during the bake, roll back.
    say("deploy v4, then `baton rollback` during its bake, while v3 still runs on standby…");
    const rollbackFrom = load.now();
    const v4 = deploy("deploy v4", deployPath, source, "rolled_back");
    await waitFor(
      "v4's bake",
      async () =>
        (await (api as ApiClient).get<{ deploy: { phase?: string } | null }>(`/v1/apps/${APP}`)).deploy?.phase ===
        "bake"
          ? true
          : undefined,
      { timeoutMs: 120_000, intervalMs: 50 },
    );
    const asked = performance.now();
    await (api as ApiClient).stream("POST", `/v1/apps/${APP}/rollback`, {}, () => {});
    const rollbackMs = performance.now() - asked;
    const rolledBack = await v4;
    const rollbackStats = load.window(rollbackFrom, load.now());
    reports.push({ phase: "rollback", stats: rollbackStats, deploy: rolledBack });
    say(
      `  rollback done in ${rollbackMs.toFixed(0)} ms: v3 took all traffic back in one switch (no boot: it was on standby), v4's in-flight requests drained; ${rollbackStats.failed} of ${rollbackStats.requests} requests failed`,
    );
    const afterFrom = load.now();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    reports.push({ phase: "after", stats: load.window(afterFrom, load.now()) });
    const total = await load.stop();

    if (values.json) process.stdout.write(`${JSON.stringify({ reports, total }, null, 2)}\n`);
    else say(`\n${table(reports, total)}`);
    say(
      total.failed === 0
        ? `\n0 failed requests out of ${total.requests} across 3 deploys and a rollback. Every one was invisible to users.`
        : `\n${total.failed} of ${total.requests} requests failed: ${JSON.stringify(total.failures)}`,
    );
    void exited;
    return total.failed === 0 ? 0 : 1;
  } catch (error) {
    throw new BatonError("BATON_DEMO_FAILED", `demo failed: ${(error as Error).message}`, {
      cause: error,
      hint: `logs are in ${home} (server.log, router.log, apps/${APP}/logs)`,
    });
  } finally {
    await stopEverything(api, server);
    rmSync(home, { recursive: true, force: true });
  }
}

/** `baton shutdown` through the API: instances, router and server. */
async function stopEverything(api: ApiClient | undefined, server: ChildProcess | undefined): Promise<void> {
  if (server === undefined || server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.once("exit", resolve));
  if (api !== undefined) await api.post("/v1/shutdown", { keepRunning: false }).catch(() => server.kill("SIGTERM"));
  else server.kill("SIGTERM");
  await exited;
}

function table(reports: PhaseReport[], total: WindowStats): string {
  const header = [
    "phase",
    "requests",
    "failed",
    "p50 ms",
    "p99 ms",
    "max ms",
    "deploy s",
    "app's own s",
    "canary+bake s",
    "baton s",
    "switch ms",
  ];
  const row = (r: PhaseReport): string[] => {
    const d = r.deploy;
    const time = d?.time;
    const switchMs = d?.steps.find((s) => s.name === "switch")?.durationMs;
    return [
      r.phase,
      String(r.stats.requests),
      String(r.stats.failed),
      r.stats.p50Ms.toFixed(1),
      r.stats.p99Ms.toFixed(1),
      r.stats.maxMs.toFixed(1),
      d === undefined ? "" : (d.durationMs / 1000).toFixed(2),
      time === undefined ? "" : (time.appMs / 1000).toFixed(2),
      time === undefined ? "" : (time.strategyMs / 1000).toFixed(2),
      time === undefined ? "" : (time.batonMs / 1000).toFixed(2),
      switchMs === undefined || switchMs === null ? "" : String(switchMs),
    ];
  };
  return renderTable([header, ...reports.map(row), row({ phase: "total", stats: total }).slice(0, 6)]);
}
