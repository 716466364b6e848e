import { request } from "node:http";

export interface SmokeCheck {
  path: string;
  /** The exact status the path must answer with (a 404 page can be a valid check too). */
  status: number;
}

export interface SmokeFailure {
  path: string;
  expected: number;
  /** 0 when there was no complete answer within the timeout. */
  got: number;
}

/**
 * Send one GET per check to a new instance, all at once, and return the checks it failed (none:
 * it passed). Each request has `timeoutMs` for its whole exchange, body included.
 */
export async function smokeTest(
  port: number,
  checks: readonly SmokeCheck[],
  timeoutMs: number,
  host = "127.0.0.1",
): Promise<SmokeFailure[]> {
  const statuses = await Promise.all(checks.map((check) => fetchStatus(host, port, check.path, timeoutMs)));
  const failures: SmokeFailure[] = [];
  checks.forEach((check, i) => {
    const got = statuses[i] ?? 0;
    if (got !== check.status) failures.push({ path: check.path, expected: check.status, got });
  });
  return failures;
}

/**
 * The status of a complete response, 0 otherwise. Not readiness.ts's probe(): its timeout is the
 * socket's idle timeout and it waits for the body's end, so a response that sends its head and
 * then stalls would keep it waiting; here one deadline covers the whole exchange and an answer
 * that breaks off counts as none.
 */
function fetchStatus(host: string, port: number, path: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: "GET", agent: false, headers: { "x-baton-smoke": "1" } }, (res) => {
      res.resume();
      res.once("end", () => finish(res.statusCode ?? 0));
      res.once("error", () => finish(0));
      res.once("close", () => finish(res.complete ? (res.statusCode ?? 0) : 0));
    });
    const timer = setTimeout(() => req.destroy(), timeoutMs);
    let done = false;
    const finish = (status: number): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(status);
    };
    req.once("error", () => finish(0));
    req.once("close", () => finish(0));
    req.end();
  });
}
