// Starting and stopping the upstreams and the four proxies, each as a foreground process that we
// own, with config files written to our temp dir (never the system's /etc configs or services).
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BATON_MAIN = join(ROOT, "dist/src/cli/main.js");
const NODE_PROXY = fileURLToPath(new URL("node-proxy.mjs", import.meta.url));
const NODE_RELAY = fileURLToPath(new URL("node-relay.mjs", import.meta.url));
const START_TIMEOUT_MS = 15_000;

/**
 * Every process the benchmark started, so that stopAll() (also run on error and on SIGINT) can
 * end exactly those. Each child is spawned detached, i.e. as the leader of its own process group:
 * nginx workers stay in their master's group, so signalling the group reaches them too, and a ^C
 * in the terminal reaches only us, not them, so the shutdown happens in order.
 */
export class Processes {
  constructor() {
    this.live = new Map(); // pid -> { name, child, exited: Promise }
  }

  /** Spawn `command` with its output going to `logFile`; returns the child. */
  start(name, command, args, logFile, options = {}) {
    const fd = openSync(logFile, "a");
    const child = spawn(command, args, { stdio: ["ignore", fd, fd], detached: true, ...options });
    closeSync(fd);
    this.track(child, name);
    return child;
  }

  /** Register a child started elsewhere (wrk); returns a function that forgets it once it has exited. */
  track(child, name) {
    const exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        // Kept so a later failure can say when and how this process went away.
        child.exitInfo = { code, signal, at: new Date().toISOString() };
        resolve();
      });
      child.once("error", resolve); // never spawned: there will be no "exit"
    });
    // Kept for waitUntil's message (e.g. ENOENT); an unhandled "error" event would crash us.
    child.once("error", (error) => {
      child.spawnError = error;
    });
    if (child.pid !== undefined) this.live.set(child.pid, { name, child, exited });
    exited.then(() => this.live.delete(child.pid));
    return () => this.live.delete(child.pid);
  }

  /** TERM each process group, wait up to `graceMs`, then KILL what is left. */
  async stopAll(graceMs = 5_000) {
    const entries = [...this.live.entries()];
    for (const [pid] of entries) signalGroup(pid, "SIGTERM");
    const all = Promise.all(entries.map(([, e]) => e.exited));
    const done = await Promise.race([all.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) for (const [pid] of entries) signalGroup(pid, "SIGKILL");
    await Promise.race([all, sleep(2_000)]);
  }

  /** Last resort from process.on("exit"): synchronous, no waiting. */
  killAllNow() {
    for (const [pid] of this.live) signalGroup(pid, "SIGKILL");
  }

  /**
   * A benchmark's way out, whatever ends it (done, error, ^C, SIGTERM, or dying some other way):
   * every process it started stops, and `tmp` (if any) is removed after a clean run and kept, and
   * named, otherwise. Returns `stop(code, message)`; messages go to stderr after `label`.
   */
  exitHandler(label, tmp) {
    let stopping = false;
    const stop = async (code, message) => {
      if (stopping) return;
      stopping = true;
      if (message) console.error(`${label}: ${message}`);
      await this.stopAll();
      if (tmp !== undefined && code === 0) rmSync(tmp, { recursive: true, force: true });
      else if (tmp !== undefined) console.error(`${label}: logs and configs kept in ${tmp}`);
      process.exit(code);
    };
    process.on("SIGINT", () => void stop(130, "interrupted; stopping everything it started"));
    process.on("SIGTERM", () => void stop(143, "terminated; stopping everything it started"));
    // Backstop if we die some other way: no process of ours outlives us.
    process.on("exit", () => this.killAllNow());
    return stop;
  }
}

/** Throws a clear message when a process we depend on is gone (crashed, or killed from outside). */
export function assertAlive(p) {
  const info = p.child?.exitInfo;
  if (info === undefined) return;
  const how = info.signal === null ? `exit code ${info.code}` : `signal ${info.signal}`;
  const log = p.logFile ? ` Its log:\n${tail(p.logFile)}` : "";
  throw new Error(`${p.name} (pid ${p.pid}) is gone: ${how} at ${info.at}.${log}`);
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** A port the kernel says is free now (there is a small window before the proxy binds it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One GET to a loopback port, with a short timeout. */
export function httpGet(port, path = "/") {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.setTimeout(2_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/**
 * Poll `check` until it resolves truthy, failing with the process's log when it exits first or
 * when `timeoutMs` passes.
 */
async function waitUntil(what, check, { child, logFile, timeoutMs = START_TIMEOUT_MS }) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    if (child?.spawnError) throw new Error(`${what} could not be started: ${child.spawnError.message}`);
    if (child && child.exitCode !== null) {
      throw new Error(`${what} exited with code ${child.exitCode} while starting. Its log:\n${tail(logFile)}`);
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(100);
  }
  throw new Error(
    `${what} did not become ready within ${timeoutMs} ms (${lastError?.message ?? "no answer"}). Its log:\n${tail(logFile)}`,
  );
}

function tail(logFile) {
  if (!logFile || !existsSync(logFile)) return "(no log)";
  return readFileSync(logFile, "utf8").split("\n").slice(-30).join("\n");
}

/** The upstream answer every proxy must pass through unchanged. */
export const UPSTREAM_BODY = "hello\n";

/** Ready when a GET through `port` gets the upstream's 200 "hello". */
function servesHello(port) {
  return async () => {
    const res = await httpGet(port);
    if (res.status === 200 && res.body === UPSTREAM_BODY) return true;
    throw new Error(`GET / answered ${res.status} ${JSON.stringify(res.body.slice(0, 200))}`);
  };
}

// nginx insists on a prefix with temp dirs; keep them all in our dir rather than /var/lib/nginx.
function nginxCommon(dir) {
  return `
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 8192; }`;
}

function nginxHttpCommon(dir) {
  return `
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  # Client connections are never recycled by the other proxies, so none here either (the default
  # closes a keep-alive connection after 1000 requests and makes wrk reconnect).
  keepalive_requests 1000000;
  keepalive_timeout 65s;`;
}

async function startNginx(processes, name, dir, conf, readyPort) {
  mkdirSync(dir, { recursive: true });
  const confFile = join(dir, "nginx.conf");
  const logFile = join(dir, "stderr.log");
  writeFileSync(confFile, conf);
  // -e: nginx opens its error log before reading the config; keep even that out of /var/log.
  // "daemon off" keeps the master in the foreground as our child.
  const args = ["-p", `${dir}/`, "-e", `${dir}/error.log`, "-c", confFile, "-g", "daemon off;"];
  const child = processes.start(name, "nginx", args, logFile);
  await waitUntil(name, servesHello(readyPort), { child, logFile: join(dir, "error.log") });
  return child;
}

/**
 * The two upstream "instances": one nginx process (one worker) with two server blocks, each
 * answering a fixed 200. nginx serves this far faster than any proxy in front of it can forward,
 * so the proxy is the bottleneck; the "direct to upstream" row shows the headroom.
 */
export async function startUpstreams(processes, baseDir) {
  const dir = join(baseDir, "upstream-nginx");
  const ports = [await freePort(), await freePort()];
  const servers = ports
    .map(
      (port) => `
  server {
    listen 127.0.0.1:${port};
    default_type text/plain;
    location / { return 200 "${UPSTREAM_BODY.replace("\n", "\\n")}"; }
  }`,
    )
    .join("\n");
  const conf = `worker_processes 1;
${nginxCommon(dir)}
http {${nginxHttpCommon(dir)}
${servers}
}
`;
  const child = await startNginx(processes, "upstream nginx", dir, conf, ports[0]);
  await waitUntil("upstream nginx (second port)", servesHello(ports[1]), { child, logFile: join(dir, "error.log") });
  return { name: "upstream nginx", pid: child.pid, child, ports, logFile: join(dir, "error.log") };
}

/** (a) nginx as a reverse proxy with a keep-alive upstream pool. */
export async function startNginxProxy(processes, baseDir, upstreamPorts) {
  const dir = join(baseDir, "nginx-proxy");
  const port = await freePort();
  const conf = `worker_processes auto;
${nginxCommon(dir)}
http {${nginxHttpCommon(dir)}
  upstream app {
${upstreamPorts.map((p) => `    server 127.0.0.1:${p};`).join("\n")}
    keepalive 64;
    # Same reasoning as for clients: do not recycle upstream connections every 1000 requests.
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  const child = await startNginx(processes, "nginx proxy", dir, conf, port);
  return { name: "nginx", pid: child.pid, child, port, logFile: join(dir, "error.log") };
}

/** (b) HAProxy: leastconn, server connections shared between clients (http-reuse always). */
export async function startHaproxy(processes, baseDir, upstreamPorts) {
  const dir = join(baseDir, "haproxy");
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const confFile = join(dir, "haproxy.cfg");
  const logFile = join(dir, "stderr.log");
  writeFileSync(
    confFile,
    `global
  nbthread ${availableParallelism()}
  maxconn 4096

defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  http-reuse always

frontend bench
  bind 127.0.0.1:${port}
  default_backend upstreams

backend upstreams
  balance leastconn
${upstreamPorts.map((p, i) => `  server u${i + 1} 127.0.0.1:${p}`).join("\n")}
`,
  );
  // -db: stay in the foreground, no daemon, no master-worker; -W off by default.
  const child = processes.start("haproxy", "haproxy", ["-db", "-f", confFile], logFile);
  await waitUntil("haproxy", servesHello(port), { child, logFile });
  return { name: "haproxy", pid: child.pid, child, port, logFile };
}

/** A Node script of ours, `node SCRIPT PORT HOST:PORT...`, in front of the upstreams. */
async function startNodeScript(processes, baseDir, upstreamPorts, { script, slug, name }) {
  const dir = join(baseDir, slug);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const logFile = join(dir, "output.log");
  const args = [script, String(port), ...upstreamPorts.map((p) => `127.0.0.1:${p}`)];
  const child = processes.start(name, process.execPath, args, logFile);
  await waitUntil(name, servesHello(port), { child, logFile });
  return { pid: child.pid, child, port, logFile };
}

/** (c) The plain Node proxy in node-proxy.mjs. */
export async function startNodeProxy(processes, baseDir, upstreamPorts) {
  const started = await startNodeScript(processes, baseDir, upstreamPorts, {
    script: NODE_PROXY,
    slug: "node-proxy",
    name: "node proxy",
  });
  return { name: "node", ...started };
}

/** (c') The Node TCP relay in node-relay.mjs: a floor for what any Node process costs here, not a proxy. */
export async function startNodeRelay(processes, baseDir, upstreamPorts) {
  const started = await startNodeScript(processes, baseDir, upstreamPorts, {
    script: NODE_RELAY,
    slug: "node-relay",
    name: "node relay",
  });
  return { name: "Node TCP relay (floor, no HTTP)", ...started };
}

/**
 * (d) baton's router as a real `baton router` process, configured over its admin socket exactly
 * as the control plane would: one default app whose active Pool is the two upstreams. `main` is
 * another build's dist/src/cli/main.js (fixed-rate.mjs --baton-b compares two builds).
 */
export async function startBaton(
  processes,
  baseDir,
  upstreamPorts,
  { name = "baton", args: extraArgs = [], main = BATON_MAIN } = {},
) {
  // The admin client and the Node flags come from the same build as `main` (dist/src/cli/main.js).
  const dist = join(dirname(main), "../..");
  const clientModule = join(dist, "src/router/client.js");
  if (!existsSync(main) || !existsSync(clientModule)) {
    throw new Error(`baton is not built (${main} missing): run \`npm run build\` first`);
  }
  const { RouterClient } = await import(clientModule);
  const slug = name.replace(/[^a-z0-9]+/gi, "-");
  const home = join(baseDir, `${slug}-home`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const port = await freePort();
  const logFile = join(baseDir, `${slug}-router.log`);
  // The same Node flags baton uses when it starts a router itself.
  const { ROUTER_NODE_FLAGS } = await import(join(dist, "src/router/options.js"));
  const args = [
    ...ROUTER_NODE_FLAGS,
    main,
    "router",
    "--port",
    String(port),
    "--host",
    "127.0.0.1",
    "--home",
    home,
    ...extraArgs,
  ];
  const child = processes.start(`${name} router`, process.execPath, args, logFile);
  const client = new RouterClient(join(home, "router.sock"), 2_000);
  await waitUntil("baton router admin API", async () => (await client.health()).ok !== false, { child, logFile });
  await client.putApp({ name: "bench", domains: ["bench.localhost"], isDefault: true });
  await client.swap("bench", {
    id: "p1",
    release: "v1",
    targets: upstreamPorts.map((p) => ({ host: "127.0.0.1", port: p })),
  });
  // wrk sends Host: 127.0.0.1:PORT, which no app claims, so this also checks the default app.
  await waitUntil("baton router", servesHello(port), { child, logFile });
  return { name, pid: child.pid, child, port, logFile, client };
}
