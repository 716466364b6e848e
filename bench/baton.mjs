// What the benchmarks that drive baton itself share: where the build is, the CLI run as a child
// process, a foreground `baton server`, which build and machine were measured, and where the raw
// results go. One copy, so every benchmark starts and stops baton the same way.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, release as kernelRelease } from "node:os";
import { join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../", import.meta.url));
export const MAIN = join(ROOT, "dist/src/cli/main.js");

/** A built module's path: `dist("src/load/load.js")`. */
export const dist = (path) => join(ROOT, "dist", path);

/**
 * As root (these machines), baton refuses to run apps as root unless told; the benchmarks run
 * examples/hello, their own code, so they say so.
 */
export const ROOT_APPS = process.geteuid?.() === 0 ? ["--allow-root-apps"] : [];

const COMMAND_TIMEOUT_MS = 30_000;

/** Messages to stderr prefixed with the benchmark's name (and the time, for long runs). */
export function reporter(name, { clock = false } = {}) {
  const prefix = () => (clock ? `${name}: ${new Date().toISOString().slice(11, 19)}` : `${name}:`);
  return {
    progress: (message) => console.error(`${prefix()} ${message}`),
    /** A usage or set-up error: nothing was started yet. */
    fail: (message) => {
      console.error(`${name}: ${message}`);
      process.exit(1);
    },
  };
}

/** `baton ARGS --home HOME` to completion, bounded; never throws. */
export function baton(home, args, timeoutMs = COMMAND_TIMEOUT_MS) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [MAIN, ...args, "--home", home], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, BATON_LOG_LEVEL: "warn" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/**
 * The foreground `baton server` on loopback, ready once `baton apps` answers. Keeps the last 200
 * chunks of its stderr in `log` for error messages (a soak runs for hours).
 */
export async function startServer(home, port) {
  const child = spawn(
    process.execPath,
    [MAIN, "server", "--port", String(port), "--host", "127.0.0.1", "--home", home, ...ROOT_APPS],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, BATON_LOG_LEVEL: "warn" } },
  );
  const log = [];
  child.stderr.on("data", (d) => {
    log.push(String(d));
    if (log.length > 200) log.shift();
  });
  const deadline = Date.now() + COMMAND_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`baton server exited (${child.exitCode ?? child.signalCode}):\n${log.join("")}`);
    if ((await baton(home, ["apps", "--json"], 10_000)).code === 0) return { child, log };
    await sleep(200);
  }
  child.kill("SIGKILL");
  throw new Error(`baton server did not answer within ${COMMAND_TIMEOUT_MS} ms:\n${log.join("")}`);
}

/**
 * Stops a run that drives a `baton server` once, whatever ends it (done, error, ^C, SIGTERM):
 * the load first, then everything baton started (`baton shutdown`), then the server child as a
 * backstop. The state directory is removed on success and kept (and named) otherwise.
 * `current()` gives what is running now: { server, load }.
 */
export function stopper({ home, keep, progress, current }) {
  let stopping = false;
  const stop = async (code, message) => {
    if (stopping) return;
    stopping = true;
    if (message) progress(message);
    const { server, load } = current();
    await load?.stop().catch(() => {});
    const down = await baton(home, ["shutdown"], COMMAND_TIMEOUT_MS);
    if (down.code !== 0) progress(`baton shutdown: exit ${down.code ?? down.signal}: ${down.stderr.trim()}`);
    if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null)
      server.child.kill("SIGKILL");
    if (code === 0) rmSync(keep, { recursive: true, force: true });
    else progress(`state and instance logs kept in ${keep}`);
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(130, "interrupted; stopping everything it started"));
  process.on("SIGTERM", () => void stop(143, "terminated; stopping everything it started"));
  // Output piped into something that stopped reading (`| head`, `| true`): unhandled, the EPIPE
  // ended this process at once and left the router and instances the server had started running
  // (they outlive a server by design). Handled, the run stops through `stop` (or, when it was
  // already stopping, finishes doing so) and cleans up.
  process.stdout.on("error", (error) => {
    if (error?.code === "EPIPE") void stop(141, "stdout closed; stopping everything it started");
    else throw error;
  });
  process.on("exit", () => current().server?.child.kill("SIGKILL"));
  return stop;
}

/** Which baton was measured. */
export function batonBuild() {
  const git = (args) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" }).stdout?.trim() ?? "";
  return {
    commit: git(["rev-parse", "--short", "HEAD"]) || null,
    srcUncommittedChanges: git(["status", "--porcelain", "--", "src"]).split("\n").filter(Boolean).length,
    distBuiltAt: existsSync(MAIN) ? statSync(MAIN).mtime.toISOString() : null,
  };
}

/** Which machine it was measured on. */
export function machine() {
  return {
    cpus: `${availableParallelism()} x ${cpus()[0]?.model ?? "?"}`,
    kernel: kernelRelease(),
    node: process.version,
  };
}

/** Writes bench/results/KIND-TIMESTAMP.json (gitignored); returns its path from the repository root. */
export function writeResults(kind, data) {
  const dir = join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${kind}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return relative(ROOT, file);
}
