import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BatonError } from "../core/errors.js";
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
    return {
      client,
      pid: running.pid,
      port: running.port,
      httpsPort: running.httpsPort ?? undefined,
      started: false,
    };
  }
  const log = openSync(serverPaths(opts.home).routerLog, "a", 0o600);
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
  let exitCode: number | null = null;
  child.once("exit", (code) => {
    exitCode = code ?? -1;
  });
  const health = await waitFor(
    "the router to answer on its admin socket",
    async () => {
      if (exitCode !== null) {
        throw new BatonError("BATON_ROUTER_UNREACHABLE", `the router exited with code ${exitCode} at start`, {
          hint: `see ${serverPaths(opts.home).routerLog}; is port ${opts.port} already in use?`,
        });
      }
      const h = await client.health().catch(() => undefined);
      return h?.ok ? h : undefined;
    },
    { timeoutMs: 15_000 },
  ).catch((error: unknown) => {
    // waitFor wraps the exit error as its cause; surface the real reason.
    const cause = (error as BatonError).cause;
    throw cause instanceof BatonError ? cause : error;
  });
  opts.log.info("router started", { pid: health.pid, port: health.port });
  return { client, pid: health.pid, port: health.port, httpsPort: health.httpsPort ?? undefined, started: true };
}
