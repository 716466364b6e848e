import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { type IncomingHttpHeaders, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { waitFor } from "../src/core/wait.js";
import { RouterClient } from "../src/router/client.js";
import { ROUTER_NODE_FLAGS } from "../src/router/options.js";

export const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const UPSTREAM = fileURLToPath(new URL("./fixtures/upstream.js", import.meta.url));

const live = new Set<ChildProcess>();
const dirs: string[] = [];

export function tmpHome(): string {
  const dir = mkdtempSync(join(tmpdir(), "baton-test-"));
  dirs.push(dir);
  return dir;
}

/** Output of a child is kept and shown only when a test fails (vite's habit). */
export interface Proc {
  proc: ChildProcess;
  output: string[];
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

function track(proc: ChildProcess): Proc {
  live.add(proc);
  const output: string[] = [];
  proc.stderr?.on("data", (d: Buffer) => output.push(String(d)));
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once("exit", () => resolve());
  });
  void exited.then(() => live.delete(proc));
  return {
    proc,
    output,
    exited,
    kill: async (signal = "SIGKILL") => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

export interface Upstream extends Proc {
  id: string;
  port: number;
  target: { host: string; port: number };
}

/** Start a real instance process and wait for its "listening" line. */
export async function startUpstream(id: string, env: Record<string, string> = {}): Promise<Upstream> {
  const proc = spawn(process.execPath, [UPSTREAM], {
    env: { ...process.env, ID: id, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tracked = track(proc);
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      const match = /^listening (\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
    });
    proc.once("exit", (code) => reject(new Error(`upstream ${id} exited with ${code}: ${tracked.output.join("")}`)));
  });
  return { ...tracked, id, port, target: { host: "127.0.0.1", port } };
}

export interface RouterProc extends Proc {
  port: number;
  home: string;
  client: RouterClient;
}

/** Start `baton router` as its own process (as in production) and wait for its admin API. */
export async function startRouter(
  options: { home?: string; port?: number; args?: string[] } = {},
): Promise<RouterProc> {
  const home = options.home ?? tmpHome();
  const port = options.port ?? 0;
  const proc = spawn(
    process.execPath,
    [
      ...ROUTER_NODE_FLAGS,
      MAIN,
      "router",
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "--home",
      home,
      ...(options.args ?? []),
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, BATON_LOG_LEVEL: "warn" } },
  );
  const tracked = track(proc);
  const client = new RouterClient(join(home, "router.sock"));
  // A router that refuses to start (bad options) fails the wait at once, with what it said: "close"
  // comes after its output is all read.
  const closed = new AbortController();
  proc.once("close", () => closed.abort());
  const health = await waitFor(
    "router admin socket",
    async () => {
      const health = await client.health();
      return health.ok ? health : undefined;
    },
    { timeoutMs: 15_000, signal: closed.signal },
  ).catch((error: unknown) => {
    if (closed.signal.aborted) throw new Error(`router exited: ${tracked.output.join("")}`);
    throw error;
  });
  return { ...tracked, port: health.port, home, client };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export function http(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 20_000, () => req.destroy(new Error("test client timeout")));
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Kill everything a test file started and remove its temp dirs. */
export async function cleanup(): Promise<void> {
  await Promise.all(
    [...live].map(
      (proc) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
          proc.once("exit", () => resolve());
          proc.kill("SIGKILL");
        }),
    ),
  );
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Wait until the router counts `n` requests of `app` in flight (instead of sleeping and hoping). */
export function untilInFlight(client: RouterClient, app: string, n: number): Promise<true> {
  return waitFor(
    `${n} requests of ${app} in flight`,
    async () => ((await client.appStats(app)).releases.reduce((sum, r) => sum + r.inFlight, 0) >= n ? true : undefined),
    { timeoutMs: 5_000, intervalMs: 10 },
  );
}

/** Wait until the router holds `n` requests of `app`. */
export function untilHeld(client: RouterClient, app: string, n: number): Promise<true> {
  return waitFor(
    `${n} held requests of ${app}`,
    async () => ((await client.appStats(app)).heldNow === n ? true : undefined),
    {
      timeoutMs: 5_000,
      intervalMs: 10,
    },
  );
}

export const pool = (id: string, release: string, upstreams: Upstream[], healthPath?: string) => ({
  id,
  release,
  targets: upstreams.map((u) => u.target),
  ...(healthPath === undefined ? {} : { healthPath }),
});

/**
 * What `web: npm start` looks like, in small: a process group whose leader is a Node process with a
 * Node child (V8 threads and all). Resolves with the group's id once both have said "up" (their own
 * code runs, so Node has started its threads); `kill()` ends the whole group.
 */
export async function startNodeGroup(): Promise<{ pgid: number; kill(): void }> {
  const idle = `${JSON.stringify(process.execPath)} -e "console.log('up'); setInterval(() => {}, 1000)"`;
  const group = spawn("/bin/sh", ["-c", `${idle} & exec ${idle}`], {
    detached: true,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const pgid = group.pid as number;
  const kill = (): void => {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  let ups = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the group's processes did not start within 10 s")), 10_000);
      group.stdout?.on("data", (chunk: Buffer) => {
        ups += chunk.toString().split("up").length - 1;
        if (ups < 2) return;
        clearTimeout(timer);
        resolve();
      });
    });
  } catch (error) {
    kill();
    throw error;
  }
  return { pgid, kill };
}
