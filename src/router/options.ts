import { BatonError } from "../core/errors.js";
import { TrustedProxies } from "./trusted-proxies.js";

/**
 * Node flags for a router process. A router allocates many short-lived objects per request;
 * 4 MB semi-spaces keep its young generation, and so its RSS, small (bench/router's RSS column
 * is measured with these flags; 8 and 16 MB were slower and bigger).
 *
 * No memory reducer: a router's load comes and goes, and after about half a minute without
 * requests V8's memory reducer shrank the young generation and the old generation's limit. When
 * load came back, short-lived request objects were promoted and a full mark-compact ran every
 * half second, for as long as the load lasted (seen with --trace-gc). bench/router, which loads
 * the router after a minute of other proxies' runs, measured 13.5k req/s without this flag and
 * 24.6k with it (`node bench/router/run.mjs --rounds 1 --duration 5`, commits 5db5329, 275dddc).
 * The heap it would have given back is a few MB.
 *
 * `baton` sets them in its shebang; whatever starts a router process itself passes these.
 */
export const ROUTER_NODE_FLAGS = ["--max-semi-space-size=4", "--no-memory-reducer"];

/** What a person may set (all optional), kept apart from the resolved options the code reads. */
export interface RouterUserOptions {
  /** Public HTTP port (0 picks a free one). */
  port?: number;
  host?: string;
  /** Public HTTPS port (0 picks a free one); no HTTPS listener when absent. Needs tlsDir. */
  httpsPort?: number;
  /** Directory of certificate/key pairs for the HTTPS port (certificates.ts). */
  tlsDir?: string;
  /** Admin API unix socket path. */
  adminSocket?: string;
  /** Routing table snapshot, rewritten atomically on every change and read at start. */
  statePath?: string;
  holdTimeoutMs?: number;
  maxHeldPerApp?: number;
  connectTimeoutMs?: number;
  /**
   * Time an instance has to send response headers before the client gets a 504, and the longest
   * silence allowed between two reads of a response body (then the client's connection is cut).
   */
  responseHeadersTimeoutMs?: number;
  /** Idle keep-alive connections from clients are closed after this. */
  clientKeepAliveTimeoutMs?: number;
  /** A client must send its request headers within this (slowloris guard). */
  clientHeadersTimeoutMs?: number;
  /**
   * A client sending a request body must not pause longer than this between two reads
   * (slowloris on the body); then it gets a 408 and the instance, if the body was being
   * streamed to one, has its connection cut. Also the longest a client may leave a response
   * unread while the router forwards it (a slow reader): then both connections are cut.
   */
  clientBodyTimeoutMs?: number;
  maxHeaderBytes?: number;
  drainTimeoutMs?: number;
  /** Window over which long connections of a drained Target are closed, to avoid a reconnect storm. */
  streamCloseWindowMs?: number;
  healthCheckIntervalMs?: number;
  maxFreeSocketsPerTarget?: number;
  freeSocketTimeoutMs?: number;
  /** Bounded retries for requests that never reached an instance. */
  maxConnectAttempts?: number;
  /** Access log: a file to append one JSON line per request to, or "-" for stdout; off when absent. */
  accessLog?: string;
  /** Peers (addresses or CIDR ranges) whose X-Forwarded-* headers are kept; none by default. */
  trustedProxies?: string[];
  /**
   * Plain bodiless GET and HEAD requests skip node:http's server side (fast/connection.ts); on
   * by default. False sends every request through node:http, for comparison or as a fallback.
   */
  fastPath?: boolean;
}

export type RouterOptions = Readonly<
  Required<Omit<RouterUserOptions, "adminSocket" | "statePath" | "accessLog" | "httpsPort" | "tlsDir">>
> & {
  readonly httpsPort: number | undefined;
  readonly tlsDir: string | undefined;
  readonly adminSocket: string | undefined;
  readonly statePath: string | undefined;
  readonly accessLog: string | undefined;
};

const DEFAULTS = {
  port: 8080,
  host: "0.0.0.0",
  holdTimeoutMs: 30_000,
  maxHeldPerApp: 10_000,
  connectTimeoutMs: 5_000,
  responseHeadersTimeoutMs: 60_000,
  clientKeepAliveTimeoutMs: 65_000,
  clientHeadersTimeoutMs: 20_000,
  clientBodyTimeoutMs: 60_000,
  maxHeaderBytes: 32 * 1024,
  drainTimeoutMs: 30_000,
  streamCloseWindowMs: 2_000,
  healthCheckIntervalMs: 500,
  maxFreeSocketsPerTarget: 512,
  freeSocketTimeoutMs: 4_000,
  maxConnectAttempts: 3,
  trustedProxies: [] as string[],
  fastPath: true as boolean,
} as const;

/** Validate once, list every problem, freeze. */
export function resolveRouterOptions(user: RouterUserOptions = {}): RouterOptions {
  const merged = { ...DEFAULTS, ...stripUndefined(user) };
  const problems: string[] = [];
  const intIn = (key: keyof typeof DEFAULTS, min: number, max: number): void => {
    const value = merged[key];
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${key} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
    }
  };
  intIn("port", 0, 65535);
  intIn("holdTimeoutMs", 0, 600_000);
  intIn("maxHeldPerApp", 0, 1_000_000);
  intIn("connectTimeoutMs", 1, 120_000);
  intIn("responseHeadersTimeoutMs", 1, 3_600_000);
  intIn("clientKeepAliveTimeoutMs", 1, 3_600_000);
  intIn("clientHeadersTimeoutMs", 1, 600_000);
  intIn("clientBodyTimeoutMs", 1, 3_600_000);
  intIn("maxHeaderBytes", 1024, 1024 * 1024);
  intIn("drainTimeoutMs", 0, 3_600_000);
  intIn("streamCloseWindowMs", 0, 600_000);
  intIn("healthCheckIntervalMs", 10, 60_000);
  intIn("maxFreeSocketsPerTarget", 1, 65_536);
  intIn("freeSocketTimeoutMs", 100, 3_600_000);
  intIn("maxConnectAttempts", 1, 10);
  if (typeof merged.fastPath !== "boolean")
    problems.push(`fastPath must be true or false (got ${JSON.stringify(merged.fastPath)})`);
  const { httpsPort, tlsDir } = user;
  if (httpsPort !== undefined && (!Number.isInteger(httpsPort) || httpsPort < 0 || httpsPort > 65535)) {
    problems.push(`httpsPort must be an integer from 0 to 65535 (got ${JSON.stringify(httpsPort)})`);
  }
  if ((httpsPort === undefined) !== (tlsDir === undefined || tlsDir === "")) {
    problems.push("httpsPort and tlsDir go together: the HTTPS port needs the certificates in tlsDir");
  }
  try {
    new TrustedProxies(merged.trustedProxies);
  } catch (error) {
    problems.push(`trustedProxies: ${(error as Error).message}`);
  }
  if (problems.length > 0) {
    throw new BatonError("BATON_CONFIG_INVALID", `router options: ${problems.join("; ")}`, { details: { problems } });
  }
  return Object.freeze({
    ...merged,
    httpsPort,
    tlsDir: tlsDir === "" ? undefined : tlsDir,
    adminSocket: user.adminSocket,
    statePath: user.statePath,
    accessLog: user.accessLog === "" ? undefined : user.accessLog,
  });
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
