/**
 * Request counts per app and per Release, kept by the router because it sees every request.
 * The canary judge and the dashboard read them over the admin API. Updating is a few integer
 * increments on the hot path: no allocation per request.
 */

/**
 * Upper bounds of the latency histogram buckets, in milliseconds (the last one is +Inf): four
 * buckets per doubling from 0.25 ms to about 65 s, so any quantile read from them is at most 19%
 * high. The canary judge compares releases by these quantiles; coarse buckets (1, 2, 5, 10 ...)
 * would make a release that is 1.2x slower look 2.5x slower whenever it crosses a bound.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  ...Array.from({ length: 73 }, (_, i) => Math.round(0.25 * 2 ** (i / 4) * 1000) / 1000),
  Infinity,
];
const BUCKETS_PER_DOUBLING = 4;
const FIRST_BOUND_MS = 0.25;

/** Index of the bucket holding `ms`: computed, not searched, because it runs on every response. */
export function bucketOf(ms: number): number {
  if (!(ms > FIRST_BOUND_MS)) return 0;
  let i = Math.min(Math.ceil(BUCKETS_PER_DOUBLING * Math.log2(ms / FIRST_BOUND_MS)), LATENCY_BUCKETS_MS.length - 1);
  // The bounds are rounded to the microsecond: step once either way to agree with them exactly.
  if (i > 0 && ms <= (LATENCY_BUCKETS_MS[i - 1] ?? 0)) i--;
  else if (ms > (LATENCY_BUCKETS_MS[i] ?? Infinity)) i++;
  return i;
}

export interface ReleaseStatsSnapshot {
  release: string;
  requests: number;
  /** Responses by status class: index 0 is 1xx ... index 4 is 5xx. */
  statusClasses: { "1xx": number; "2xx": number; "3xx": number; "4xx": number; "5xx": number };
  inFlight: number;
  retries: number;
  errors: { connect: number; reset: number; timeout: number };
  latency: { bucketsMs: number[]; counts: number[]; sumMs: number; p50Ms: number; p99Ms: number };
}

export interface AppStatsSnapshot {
  app: string;
  held: number;
  heldNow: number;
  holdTimeouts: number;
  /** Requests that waited for a free slot under the app's per-instance limit (their timeouts count in holdTimeouts). */
  queued: number;
  notRouted: number;
  releases: ReleaseStatsSnapshot[];
}

export class ReleaseStats {
  requests = 0;
  readonly classes = [0, 0, 0, 0, 0];
  inFlight = 0;
  retries = 0;
  connectErrors = 0;
  resetErrors = 0;
  timeoutErrors = 0;
  readonly latencyCounts = new Array<number>(LATENCY_BUCKETS_MS.length).fill(0);
  latencySumMs = 0;

  constructor(readonly release: string) {}

  recordResponse(status: number, ms: number): void {
    this.requests++;
    const cls = Math.min(Math.max(Math.floor(status / 100), 1), 5) - 1;
    this.classes[cls] = (this.classes[cls] ?? 0) + 1;
    const i = bucketOf(ms);
    this.latencyCounts[i] = (this.latencyCounts[i] ?? 0) + 1;
    this.latencySumMs += ms;
  }

  snapshot(): ReleaseStatsSnapshot {
    const [c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0] = this.classes;
    return {
      release: this.release,
      requests: this.requests,
      statusClasses: { "1xx": c1, "2xx": c2, "3xx": c3, "4xx": c4, "5xx": c5 },
      inFlight: this.inFlight,
      retries: this.retries,
      errors: { connect: this.connectErrors, reset: this.resetErrors, timeout: this.timeoutErrors },
      latency: {
        bucketsMs: LATENCY_BUCKETS_MS.map((b) => (b === Infinity ? -1 : b)),
        counts: [...this.latencyCounts],
        sumMs: Math.round(this.latencySumMs * 1000) / 1000,
        p50Ms: quantileFromBuckets(this.latencyCounts, 0.5),
        p99Ms: quantileFromBuckets(this.latencyCounts, 0.99),
      },
    };
  }
}

/** Upper bound of the bucket holding quantile q (the usual histogram estimate; -1 when empty). */
export function quantileFromBuckets(counts: readonly number[], q: number): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return -1;
  const rank = Math.ceil(total * q);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] ?? 0;
    if (seen >= rank) {
      const bound = LATENCY_BUCKETS_MS[i] ?? Infinity;
      return bound === Infinity ? (LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 2] ?? 0) : bound;
    }
  }
  return -1;
}

export class AppStats {
  held = 0;
  heldNow = 0;
  holdTimeouts = 0;
  queued = 0;
  /** Requests answered by the router itself (maintenance, hold timeout, no app). */
  notRouted = 0;
  private readonly byRelease = new Map<string, ReleaseStats>();

  constructor(readonly app: string) {}

  release(name: string): ReleaseStats {
    let stats = this.byRelease.get(name);
    if (stats === undefined) {
      stats = new ReleaseStats(name);
      this.byRelease.set(name, stats);
    }
    return stats;
  }

  snapshot(): AppStatsSnapshot {
    return {
      app: this.app,
      held: this.held,
      heldNow: this.heldNow,
      holdTimeouts: this.holdTimeouts,
      queued: this.queued,
      notRouted: this.notRouted,
      releases: [...this.byRelease.values()].map((r) => r.snapshot()),
    };
  }
}
