import { spawn } from "node:child_process";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BatonError, isErrorCode } from "../core/errors.js";
import { routerPaths } from "../core/home.js";
import type { Logger } from "../core/log.js";
import { waitFor } from "../core/wait.js";
import { RouterClient } from "../router/client.js";
import { ROUTER_NODE_FLAGS } from "../router/options.js";
import { serverPaths } from "./paths.js";

const MAIN = fileURLToPath(new URL("../cli/main.js", import.meta.url));

export interface RouterHandle {
  client: RouterClient;
  pid: number;
  /** The address its public port is bound to: this server's --host, or an adopted router's own. */
  host: string;
  port: number;
  /** The router's HTTPS port; undefined when it serves plain HTTP only. */
  httpsPort: number | undefined;
  /** False when a router was already running and was adopted. */
  started: boolean;
}

/**
 * Find the router for this home, or start one. The router runs in its own process group with its
 * log in a file, so it outlives the control plane: killing `baton server` never stops traffic.
 */
export async function ensureRouter(opts: {
  home: string;
  port: number;
  host: string;
  /** Where a router started here writes its access log (`--access-log`); none when undefined. */
  accessLog?: string | undefined;
  /** `--trusted-proxy` for a router started here: peers whose X-Forwarded-* headers it keeps. */
  trustedProxies?: readonly string[] | undefined;
  /** `--https-port`/`--tls-dir` for a router started here. */
  tls?: { httpsPort: number; tlsDir: string } | undefined;
  log: Logger;
}): Promise<RouterHandle> {
  const client = new RouterClient(routerPaths(opts.home).adminSocket, 5_000);
  const running = await client.health().catch(() => undefined);
  if (running?.ok) {
    if (running.port !== opts.port) {
      opts.log.warn("a router already runs for this home on another port; using it", {
        port: running.port,
        asked: opts.port,
      });
    }
    if (opts.tls !== undefined && running.httpsPort == null) {
      opts.log.warn(
        "the router was already running without HTTPS: --https-port takes effect when it is started again",
        {
          httpsPort: opts.tls.httpsPort,
        },
      );
    }
    if (opts.accessLog !== undefined || (opts.trustedProxies?.length ?? 0) > 0) {
      opts.log.warn("the router was already running: its access log and trusted proxies stay as it was started", {
        accessLog: opts.accessLog,
        trustedProxies: opts.trustedProxies,
      });
    }
    return handle(client, running, opts.host, false);
  }
  const logPath = serverPaths(opts.home).routerLog;
  const log = openSync(logPath, "a", 0o600);
  // Where this start's own lines begin: the log is appended to by every router of this home.
  const logStart = fstatSync(log).size;
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(
      process.execPath,
      [
        ...ROUTER_NODE_FLAGS,
        MAIN,
        "router",
        "--port",
        String(opts.port),
        "--host",
        opts.host,
        "--home",
        opts.home,
        ...(opts.accessLog === undefined ? [] : ["--access-log", opts.accessLog]),
        ...(opts.trustedProxies ?? []).flatMap((proxy) => ["--trusted-proxy", proxy]),
        ...(opts.tls === undefined ? [] : ["--https-port", String(opts.tls.httpsPort), "--tls-dir", opts.tls.tlsDir]),
      ],
      {
        detached: true,
        stdio: ["ignore", log, log],
        env: { ...process.env, BATON_LOG_LEVEL: process.env.BATON_LOG_LEVEL ?? "warn" },
      },
    );
  } finally {
    closeSync(log);
  }
  child.unref();
  // A router that exits at start stops the wait at once, with the reason it gave.
  const exited = new AbortController();
  const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
    exited.abort(startFailure(logPath, logStart, code ?? signal ?? "?"));
  child.once("exit", onExit);
  const health = await waitFor(
    "the router to answer on its admin socket",
    async () => {
      const h = await client.health().catch(() => undefined);
      return h?.ok ? h : undefined;
    },
    { timeoutMs: 15_000, signal: exited.signal },
  ).catch((error: unknown) => {
    throw exited.signal.aborted ? exited.signal.reason : error;
  });
  // Started: its later exit (a restart in place, say) is not a failure to start.
  child.off("exit", onExit);
  opts.log.info("router started", { pid: health.pid, port: health.port });
  return handle(client, health, opts.host, true);
}

/** The handle of a router from its health answer (`host`: ours, when an older router has none). */
function handle(
  client: RouterClient,
  health: Awaited<ReturnType<RouterClient["health"]>>,
  host: string,
  started: boolean,
): RouterHandle {
  return {
    client,
    pid: health.pid,
    host: health.host ?? host,
    port: health.port,
    httpsPort: health.httpsPort ?? undefined,
    started,
  };
}

/**
 * Why a router exited at start: the BatonError it printed (`error CODE: message` and its hint, as
 * the CLI prints them), so `baton server` fails with the router's own code and words, such as a
 * taken --https-port; otherwise a pointer to its log.
 */
function startFailure(logPath: string, from: number, exit: number | string): BatonError {
  let text = "";
  try {
    const fd = openSync(logPath, "r");
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size - from, 16 * 1024);
      const buffer = Buffer.alloc(Math.max(0, length));
      readSync(fd, buffer, 0, buffer.length, size - buffer.length);
      text = buffer.toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    // no log to read: the generic error below says where it should be
  }
  const printed = /^error (BATON_[A-Z_]+): (.*)$(?:\nhint: (.*)$)?/m.exec(text);
  const code = printed?.[1];
  if (code !== undefined && isErrorCode(code)) {
    return new BatonError(code, `the router could not start: ${printed?.[2] ?? ""}`, {
      ...(printed?.[3] === undefined ? {} : { hint: printed[3] }),
      details: { exit, log: logPath },
    });
  }
  const lastLine = text.trim().split("\n").at(-1);
  return new BatonError("BATON_ROUTER_UNREACHABLE", `the router exited with ${exit} at start`, {
    hint: `see ${logPath}${lastLine === undefined || lastLine === "" ? "" : ` (last line: ${lastLine.slice(0, 300)})`}`,
    details: { exit, log: logPath },
  });
}
