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
