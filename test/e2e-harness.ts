// What the end-to-end tests share: running the real CLI and `baton server` as child processes,
// with a transcript of every command that is shown only when a test fails. Module state is per
// test file (node --test runs each file in its own process).
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { waitFor } from "../src/core/wait.js";
import { RouterClient } from "../src/router/client.js";
import { MAIN } from "./helpers.js";

export interface CliResult {
  args: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

// ---- what the CLI prints with --json (docs/cli.md) ----

export interface StepJson {
  name: string;
  status: string;
  durationMs: number;
  details: Record<string, unknown>;
}

export interface DeployJson {
  id: number;
  app: string;
  kind: string;
  status: string;
  version: number | null;
  fromVersion: number | null;
  durationMs: number;
  failedRequests: number | null;
  error: { code: string; message: string; hint?: string } | null;
  steps: StepJson[];
}

export interface InstanceJson {
  id: string;
  type: string;
  version: number;
  pid: number;
  port: number | null;
  state: string;
}

/** Every command and server line, shown only when a test fails. */
export const transcript: string[] = [];
export const note = (line: string): void => {
  transcript.push(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
};
/**
 * Show the transcript of the whole file (and `extra()`, e.g. a database log) when a test failed,
 * and only then: vite's habit, quiet unless it fails.
 */
export const explainedWith =
  (extra: () => string) =>
  (fn: (t: TestContext) => Promise<void>): ((t: TestContext) => Promise<void>) =>
  async (t) => {
    try {
      await fn(t);
      if (process.env.BATON_E2E_TRANSCRIPT) process.stderr.write(`${transcript.join("\n")}\n`);
    } catch (error) {
      process.stderr.write(`\n---- transcript ----\n${transcript.join("\n")}\n${extra()}---- end of transcript ----\n`);
      throw error;
    } finally {
      transcript.length = 0;
    }
  };

export const explained = explainedWith(() => "");

/** Children this file started (CLI commands, servers), killed in `after` whatever happened. */
export const children = new Set<ChildProcess>();

export const indent = (text: string): string =>
  text.trim() === ""
    ? ""
    : `${text
        .trimEnd()
        .split("\n")
        .map((l) => `    ${l}`)
        .join("\n")}\n`;

/** `baton ARGS --home HOME` to completion, killed after `timeoutMs`; never throws. */
export function cli(
  home: string,
  args: string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliResult> {
  // Before a `--`: what follows it is a command's own words (`baton run -- CMD`).
  const dashes = args.indexOf("--");
  const argv =
    dashes < 0 ? [...args, "--home", home] : [...args.slice(0, dashes), "--home", home, ...args.slice(dashes)];
  return runNode([MAIN, ...argv], {
    timeoutMs,
    env: { ...env, BATON_LOG_LEVEL: "warn" },
    onTimeout: () => note(`baton ${args.join(" ")}: still running after ${timeoutMs} ms, killed`),
  }).then(({ code, signal, stdout, stderr, ms }) => {
    note(
      `baton ${args.join(" ")} → ${code ?? signal} in ${ms} ms\n${indent(stdout.slice(0, 4000))}${indent(stderr.slice(0, 4000))}`,
    );
    return { args, code, signal, stdout, stderr, ms };
  });
}

/**
 * `node ARGS` to completion, its output collected, sent `killSignal` after `timeoutMs` (a bench
 * script asks for SIGTERM, to shut down what it started); never throws. Tracked in `children`.
 */
export function runNode(
  args: string[],
  opts: { timeoutMs: number; env?: NodeJS.ProcessEnv; killSignal?: NodeJS.Signals; onTimeout?: () => void },
): Promise<Omit<CliResult, "args">> {
  const started = Date.now();
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: opts.env ?? process.env });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d;
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d;
  });
  const timer = setTimeout(() => {
    opts.onTimeout?.();
    child.kill(opts.killSignal ?? "SIGKILL");
  }, opts.timeoutMs);
  return new Promise((resolve) => {
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** The JSON a `--json` command printed (the whole stdout, or from its first line that opens one). */
export function parseJson<T = unknown>(result: CliResult): T {
  const text = result.stdout.trim();
  try {
    return JSON.parse(text) as T;
  } catch {
    const at = text.search(/^[[{]/m);
    if (at >= 0) return JSON.parse(text.slice(at)) as T;
    throw new Error(`baton ${result.args.join(" ")} printed no JSON:\n${result.stdout}\n${result.stderr}`);
  }
}

export function killGroup(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, "SIGKILL");
    } catch {
      // gone already
    }
  }
}

export interface ServerProc {
  proc: ChildProcess;
  exited: Promise<void>;
  /** The router the server started or adopted. */
  router: { pid: number; port: number };
}

/**
 * `baton server` in the foreground (with `extraArgs`, e.g. --git-port), ready once `baton apps --json`
 * answers. As root (CI) it runs the fixture apps as root, explicitly (--allow-root-apps), unless
 * `extraArgs` names an app user (--user).
 */
export async function startServer(
  home: string,
  port: number,
  env: NodeJS.ProcessEnv = process.env,
  extraArgs: readonly string[] = [],
): Promise<ServerProc> {
  const proc = spawn(
    process.execPath,
    [
      MAIN,
      "server",
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "--home",
      home,
      ...(extraArgs.includes("--user") ? [] : ["--allow-root-apps"]),
      ...extraArgs,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...env, BATON_LOG_LEVEL: "info" },
    },
  );
  children.add(proc);
  proc.stdout.on("data", (d: Buffer) => note(`server: ${String(d).trimEnd()}`));
  proc.stderr.on("data", (d: Buffer) => note(`server! ${String(d).trimEnd()}`));
  // A server that exits at start ends the wait at once ("close": its output is all read by then).
  const closed = new AbortController();
  proc.once("close", () => closed.abort());
  const exited = new Promise<void>((resolve) =>
    proc.once("exit", (code, signal) => {
      note(`server exited: ${code ?? signal}`);
      children.delete(proc);
      resolve();
    }),
  );
  await waitFor(
    "`baton server` to answer `baton apps`",
    async () => ((await cli(home, ["apps", "--json"], 10_000, env)).code === 0 ? true : undefined),
    { timeoutMs: 30_000, intervalMs: 200, signal: closed.signal },
  ).catch((error: unknown) => {
    // Called from a `before` hook, where no test's transcript is shown: put it in the error.
    const why = closed.signal.aborted ? "`baton server` exited at start" : (error as Error).message;
    throw new Error(`${why}\n---- transcript ----\n${transcript.join("\n")}\n${routerLogTail(home)}`, {
      cause: error,
    });
  });
  const health = await new RouterClient(join(home, "router.sock")).health();
  return { proc, exited, router: { pid: health.pid, port: health.port } };
}

/** The end of the router's log in `home`, for an error that needs to say why it never answered. */
function routerLogTail(home: string): string {
  try {
    return `---- router.log (end) ----\n${readFileSync(join(home, "router.log"), "utf8").slice(-4000)}`;
  } catch {
    return "(no router.log)";
  }
}

const WEB_FIXTURE = fileURLToPath(new URL("../../test/fixtures/apps/web", import.meta.url));

/**
 * A copy of the fixture web app in `dir` that reports `version` = `label`, with `behaviour`
 * (fixtures/apps/web/server.js lists the switches) and app.json keys replaced by `appJson`, except
 * `baton`, whose keys are merged into the fixture's own baton section.
 */
export function fixtureApp(
  dir: string,
  label: string,
  behaviour: object = {},
  appJson: Record<string, unknown> = {},
): string {
  cpSync(WEB_FIXTURE, dir, { recursive: true });
  writeFileSync(join(dir, "VERSION"), `${label}\n`);
  writeFileSync(join(dir, "behaviour.json"), JSON.stringify(behaviour));
  const json = JSON.parse(readFileSync(join(dir, "app.json"), "utf8")) as Record<string, unknown>;
  const baton = {
    ...(json.baton as Record<string, unknown>),
    ...(appJson.baton as Record<string, unknown> | undefined),
  };
  writeFileSync(join(dir, "app.json"), JSON.stringify({ ...json, ...appJson, baton }));
  return dir;
}

/** The end of an e2e file: `baton shutdown`, then whatever CLI process is left. */
export async function stopEverything(home: string, server: ServerProc | undefined): Promise<void> {
  if (server !== undefined) {
    const down = await cli(home, ["shutdown"], 30_000);
    if (down.code !== 0) note(`shutdown failed: ${down.stderr}`);
    killGroup(server.router.pid);
  }
  for (const child of children) child.kill("SIGKILL");
}
