import { request } from "node:http";
import { BatonError } from "../core/errors.js";
import { delay } from "../core/wait.js";

export interface ReadinessCheck {
  path: string;
  /** Consecutive passes needed. */
  passes: number;
  intervalMs: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Overall boot timeout. */
  bootTimeoutMs: number;
}

/** GET once; resolves with the status (0 when no answer). */
export function probe(port: number, path: string, timeoutMs: number, host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: "GET", agent: false }, (res) => {
      res.resume();
      res.once("end", () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(timeoutMs, () => req.destroy());
    req.once("error", () => resolve(0));
    req.end();
  });
}

/**
 * Wait until the instance answers its readiness path with 2xx `passes` times in a row. Fails with
 * BATON_TIMEOUT after the boot timeout, or at once when `exited` settles (the app crashed).
 */
export async function waitReady(
  port: number,
  check: ReadinessCheck,
  exited: Promise<unknown>,
  signal?: AbortSignal,
): Promise<{ attempts: number; ms: number }> {
  const started = Date.now();
  let crashed = false;
  void exited.then(() => {
    crashed = true;
  });
  let streak = 0;
  let attempts = 0;
  while (Date.now() - started < check.bootTimeoutMs) {
    if (crashed) throw new BatonError("BATON_TIMEOUT", `the instance on port ${port} exited before it became ready`);
    attempts++;
    const status = await probe(port, check.path, check.timeoutMs);
    streak = status >= 200 && status < 300 ? streak + 1 : 0;
    if (streak >= check.passes) return { attempts, ms: Date.now() - started };
    await delay(check.intervalMs, signal);
  }
  throw new BatonError("BATON_TIMEOUT", `the instance on port ${port} was not ready within ${check.bootTimeoutMs} ms`, {
    details: { port, path: check.path, attempts },
  });
}

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

/** GET once and read the body; resolves { status: 0 } when there is no answer in time. */
export function fetchBody(
  port: number,
  path: string,
  timeoutMs: number,
  host = "127.0.0.1",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      { host, port, path, method: "GET", agent: false, headers: { "x-baton-check": "readiness" } },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          // A check reads at most 64 KiB: enough to find its `content`, never a memory risk.
          if (size < 65_536) chunks.push(chunk);
          size += chunk.length;
        });
        res.once("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.once("error", () => resolve({ status: 0, body: "" }));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy());
    req.once("error", () => resolve({ status: 0, body: "" }));
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
      const { status, body } = await fetchBody(check.port ?? port, check.path, check.timeoutMs);
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
