import { request } from "node:http";
import { BatonError } from "../core/errors.js";
import { delay } from "../core/wait.js";

/** One HTTP check as app.json's healthchecks describe it (resolved). */
export interface HttpCheck {
  path: string;
  timeoutMs: number;
  initialDelayMs: number;
  /** Text the body must contain. */
  content: string | undefined;
  /** Probe this port instead of the instance's. */
  port: number | undefined;
}

/**
 * GET once and read at most 64 KiB of the body. One deadline covers the whole exchange, body
 * included, so an instance that sends its head and then stalls cannot hold a check; an answer that
 * breaks off counts as none ({ status: 0 }). Readiness, smoke requests and tests use it.
 */
export function fetchBody(
  port: number,
  path: string,
  timeoutMs: number,
  { host = "127.0.0.1", headers = {} }: { host?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (status: number): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ status, body: status === 0 ? "" : Buffer.concat(chunks).toString("utf8") });
    };
    const req = request({ host, port, path, method: "GET", agent: false, headers }, (res) => {
      res.on("data", (chunk: Buffer) => {
        // A check needs at most 64 KiB to find its `content`; never a memory risk.
        if (size < 65_536) chunks.push(chunk);
        size += chunk.length;
      });
      res.once("end", () => finish(res.statusCode ?? 0));
      res.once("error", () => finish(0));
      res.once("close", () => finish(res.complete ? (res.statusCode ?? 0) : 0));
    });
    const timer = setTimeout(() => finish(0), timeoutMs);
    req.once("error", () => finish(0));
    req.once("close", () => finish(0));
    req.end();
  });
}

/**
 * Gate a new instance on every check in turn: each must pass `passes` times in a row (2xx, and
 * the body contains `content` when set). Polls every `intervalMs` (fast: a new instance should
 * get traffic as soon as it is proven, not a Dokku `wait` later). Fails at once when the instance
 * exits, and with BATON_BOOT_TIMEOUT after `bootTimeoutMs`.
 */
export async function waitChecks(
  port: number,
  checks: readonly HttpCheck[],
  opts: { passes: number; intervalMs: number; bootTimeoutMs: number; exited: Promise<unknown>; signal?: AbortSignal },
): Promise<{ attempts: number; ms: number }> {
  const started = Date.now();
  let exitedEarly = false;
  void opts.exited.then(() => {
    exitedEarly = true;
  });
  let attempts = 0;
  let last = "no answer";
  for (const check of checks) {
    if (check.initialDelayMs > 0) await delay(Math.min(check.initialDelayMs, opts.bootTimeoutMs), opts.signal);
    let streak = 0;
    while (streak < opts.passes) {
      if (exitedEarly) {
        throw new BatonError(
          "BATON_INSTANCE_CRASHED",
          `the instance on port ${port} exited before it passed ${check.path}`,
          {
            details: { port, path: check.path, attempts },
            hint: "see the instance log (`baton logs`) for why it stopped",
          },
        );
      }
      if (Date.now() - started >= opts.bootTimeoutMs) {
        throw new BatonError(
          "BATON_BOOT_TIMEOUT",
          `the instance on port ${port} did not pass ${check.path} within ${opts.bootTimeoutMs} ms (last: ${last})`,
          {
            details: { port, path: check.path, attempts, last },
            hint: "check that the app listens on $PORT and answers its health check path; raise baton.bootTimeoutMs for slow boots",
          },
        );
      }
      attempts++;
      const { status, body } = await fetchBody(check.port ?? port, check.path, check.timeoutMs, {
        headers: { "x-baton-check": "readiness" },
      });
      const passed = status >= 200 && status < 300 && (check.content === undefined || body.includes(check.content));
      last =
        status === 0
          ? "no answer"
          : passed
            ? `HTTP ${status}`
            : check.content !== undefined && status < 300
              ? `HTTP ${status} without "${check.content}"`
              : `HTTP ${status}`;
      streak = passed ? streak + 1 : 0;
      if (streak < opts.passes) await delay(opts.intervalMs, opts.signal);
    }
  }
  return { attempts, ms: Date.now() - started };
}
