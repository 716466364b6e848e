import { fetchBody } from "./readiness.js";

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
  const statuses = await Promise.all(
    checks.map(
      async (check) =>
        (await fetchBody(port, check.path, timeoutMs, { host, headers: { "x-baton-smoke": "1" } })).status,
    ),
  );
  const failures: SmokeFailure[] = [];
  checks.forEach((check, i) => {
    const got = statuses[i] ?? 0;
    if (got !== check.status) failures.push({ path: check.path, expected: check.status, got });
  });
  return failures;
}
