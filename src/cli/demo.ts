import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
    server = spawn(process.execPath, [MAIN, "server", "--home", home, "--port", String(port)], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, BATON_LOG_LEVEL: "warn" },
    });
    const exited = new Promise((resolve) => server?.once("exit", resolve));
    api = await waitFor(
      "the server's API",
      async () => {
        const client = new ApiClient(home);
        return (await client.get("/v1/health", 2_000)) ? client : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const deploy = async (label: string, path: string, body: unknown): Promise<NonNullable<PhaseReport["deploy"]>> => {
      say(`${label}: stage, build, boot beside the live release, readiness, warm-up, switch, drain, stop…`);
      const result = (await (api as ApiClient).stream("POST", path, body, () => {})) as unknown as NonNullable<
        PhaseReport["deploy"]
      >;
      if (result.status !== "succeeded") {
        throw new BatonError(
          "BATON_DEMO_FAILED",
          `${label} ended ${result.status}: ${JSON.stringify((result as { error?: unknown }).error)}`,
        );
      }
      return result;
    };
    const deployPath = `/v1/apps/${APP}/deploys`;
    const source = { source: { dir: EXAMPLE_DIR } };
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
    const phase = async (label: string, path: string, body: unknown): Promise<void> => {
      const from = load.now();
      const result = await deploy(label, path, body);
      const stats = load.window(from, load.now());
      reports.push({ phase: label, stats, deploy: result });
      say(
        `  v${result.version} live: ${stats.requests} requests during the deploy, ${stats.failed} failed, p99 ${stats.p99Ms.toFixed(0)} ms`,
      );
    };
    await phase("deploy v2", deployPath, source);
    await phase("deploy v3", deployPath, source);
    await phase("rollback", `/v1/apps/${APP}/rollback`, {});
    const afterFrom = load.now();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    reports.push({ phase: "after", stats: load.window(afterFrom, load.now()) });
    const total = await load.stop();

    if (values.json) process.stdout.write(`${JSON.stringify({ reports, total }, null, 2)}\n`);
    else say(`\n${table(reports, total)}`);
    say(
      total.failed === 0
        ? `\n0 failed requests out of ${total.requests} across 3 deploys. Every deploy was invisible to users.`
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
    "bake s",
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
