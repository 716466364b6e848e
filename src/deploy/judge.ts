/**
 * Decides from the router's own counters whether a candidate Release is worse than the baseline,
 * for automatic rollback during canary steps and the bake period. Pure: numbers in, verdict out.
 *
 * The rule of thumb: a rollback is expensive and a false alarm teaches people to turn the judge
 * off, so every check compares conservative bounds (Wilson intervals at z = 3, histogram buckets
 * read in the direction that favours the candidate). A clearly bad Release still fails within a
 * few hundred requests.
 */
import { LATENCY_BUCKETS_MS, quantileFromBuckets, type ReleaseStatsSnapshot } from "../router/stats.js";

/** Counts of one release over one time window (a delta of two router snapshots). */
export interface StatsWindow {
  /** Release name (e.g. "v8"), used in reasons only. */
  release?: string;
  requests: number;
  errors5xx: number;
  /** connect + reset + timeout; retried attempts count too, so it may exceed requests. */
  upstreamErrors: number;
  /** Per LATENCY_BUCKETS_MS bucket. */
  latencyCounts: number[];
  /** Instance crashes in the window (given by the caller: the router cannot see them). */
  crashes: number;
}

export interface JudgeThresholds {
  /** No verdict on latency or error rates before the candidate has this many requests. */
  minRequests: number;
  /** Percentage points the candidate's 5xx (or upstream error) rate may exceed the baseline's by. */
  errorRateIncrease: number;
  /** The candidate's p99 may be at most this many times the baseline's ... */
  p99Ratio: number;
  /** ... and at most this many ms above it: only exceeding both fails. */
  p99MinIncreaseMs: number;
  /** More candidate crashes than this fail at once, whatever the request count. */
  maxCrashes: number;
}

export const DEFAULT_THRESHOLDS: Readonly<JudgeThresholds> = Object.freeze({
  minRequests: 100,
  errorRateIncrease: 1,
  p99Ratio: 2,
  p99MinIncreaseMs: 25,
  maxCrashes: 0,
});

export type Outcome = "healthy" | "failing" | "undecided";

export interface Verdict {
  outcome: Outcome;
  /** One human sentence per failed check, with the numbers. Empty unless failing. */
  reasons: string[];
  /** The numbers, for the deploy record and the events. */
  evidence: Record<string, unknown>;
}

/** Three standard deviations: about 1 in 700 per one-sided bound, before the margins add more. */
const Z = 3;
/** A p99 above the limit means more than 1% of requests above it. */
const P99_TAIL = 0.01;

/** Wilson score interval of k successes in n trials; [0, 1] when there is nothing to go on. */
export function wilsonInterval(k: number, n: number, z = Z): { lower: number; upper: number } {
  if (n <= 0) return { lower: 0, upper: 1 };
  const p = Math.min(Math.max(k, 0), n) / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  return { lower: Math.max(0, center - half), upper: Math.min(1, center + half) };
}

const emptyWindow = (release?: string): StatsWindow => ({
  ...(release === undefined ? {} : { release }),
  requests: 0,
  errors5xx: 0,
  upstreamErrors: 0,
  latencyCounts: new Array<number>(LATENCY_BUCKETS_MS.length).fill(0),
  crashes: 0,
});

const upstreamOf = (s: ReleaseStatsSnapshot) => s.errors.connect + s.errors.reset + s.errors.timeout;

/** A router built with other buckets (older, still running) cannot be read with ours. */
const sameBuckets = (s: ReleaseStatsSnapshot) =>
  s.latency.bucketsMs.length === LATENCY_BUCKETS_MS.length &&
  s.latency.bucketsMs.every((b, i) => (b === -1 ? Infinity : b) === LATENCY_BUCKETS_MS[i]);

/** Counts of `after` minus `before` (all of `after` without `before`), never negative. */
export function windowOf(
  after: ReleaseStatsSnapshot | undefined,
  before?: ReleaseStatsSnapshot,
  crashes = 0,
): StatsWindow {
  const window = emptyWindow(after?.release);
  window.crashes = crashes;
  if (after === undefined) return window;
  // Fewer requests than before means the router restarted and its counters began again at zero:
  // everything it counted since is inside the window.
  const base = before === undefined || after.requests < before.requests ? undefined : before;
  const minus = (a: number, b: number | undefined) => Math.max(0, a - (b ?? 0));
  window.requests = minus(after.requests, base?.requests);
  window.errors5xx = minus(after.statusClasses["5xx"], base?.statusClasses["5xx"]);
  window.upstreamErrors = minus(upstreamOf(after), base && upstreamOf(base));
  // Latency left empty rather than misread: the latency check then gives no verdict.
  if (sameBuckets(after) && (base === undefined || sameBuckets(base))) {
    window.latencyCounts = window.latencyCounts.map((_, i) =>
      minus(after.latency.counts[i] ?? 0, base?.latency.counts[i]),
    );
  }
  return window;
}

/** Two windows of one release taken together (e.g. the canary steps so far). */
export function addWindows(a: StatsWindow, b: StatsWindow): StatsWindow {
  const sum = emptyWindow(a.release ?? b.release);
  sum.requests = a.requests + b.requests;
  sum.errors5xx = a.errors5xx + b.errors5xx;
  sum.upstreamErrors = a.upstreamErrors + b.upstreamErrors;
  sum.latencyCounts = sum.latencyCounts.map((_, i) => (a.latencyCounts[i] ?? 0) + (b.latencyCounts[i] ?? 0));
  sum.crashes = a.crashes + b.crashes;
  return sum;
}

const total = (counts: readonly number[]) => counts.reduce((a, b) => a + b, 0);
const percent = (rate: number) => `${(rate * 100).toFixed(1)}%`;
const count = (n: number) => n.toLocaleString("en-US");
/** Bucket bounds are not round numbers (215.269): three significant digits are plenty to read. */
const millis = (n: number) => `${count(n >= 100 ? Math.round(n) : Number(n.toPrecision(3)))} ms`;
const rate = (k: number, n: number) => (n > 0 ? Math.min(k, n) / n : 0);
/** The router's own estimate (bucket upper bound), so the numbers match the dashboard's. */
const p99Of = (w: StatsWindow) => (total(w.latencyCounts) > 0 ? quantileFromBuckets(w.latencyCounts, 0.99) : null);

export function judge(candidate: StatsWindow, baseline: StatsWindow, t: JudgeThresholds): Verdict {
  const c = candidate.release ?? "candidate";
  const b = baseline.release ?? "baseline";
  const who = (name: string, w: StatsWindow) => `${name}, ${count(w.requests)} requests`;
  const reasons: string[] = [];

  if (candidate.crashes > t.maxCrashes) {
    const s = candidate.crashes === 1 ? "" : "es";
    reasons.push(`${candidate.crashes} instance crash${s} of ${c} (at most ${t.maxCrashes} allowed)`);
  }

  const enough = candidate.requests >= t.minRequests;
  const allowed = t.errorRateIncrease / 100;
  // Fails only when even the best case for the candidate is worse than the worst case for the
  // baseline by more than the allowance. An empty baseline gives an absolute ceiling instead.
  const errorCheck = (label: string, ck: number, bk: number) => {
    const lower = wilsonInterval(ck, candidate.requests).lower;
    const upper = baseline.requests > 0 ? wilsonInterval(bk, baseline.requests).upper : 0;
    if (enough && lower - upper > allowed) {
      const vs =
        baseline.requests > 0
          ? `${percent(rate(bk, baseline.requests))} (${who(b, baseline)})`
          : `a ceiling of ${t.errorRateIncrease}% (no ${b} requests to compare with)`;
      reasons.push(`${label} ${percent(rate(ck, candidate.requests))} (${who(c, candidate)}) vs ${vs}`);
    }
  };
  errorCheck("5xx rate", candidate.errors5xx, baseline.errors5xx);
  errorCheck("upstream error rate", candidate.upstreamErrors, baseline.upstreamErrors);

  // Latency: only requests in buckets that begin at or above the limit are certainly slower than
  // it, and the baseline's p99 is its bucket's upper bound, so bucket width never counts against
  // the candidate (a p99 in the +Inf bucket reads as the last bound, so nothing is counted slow).
  // A baseline too small to have a p99 gives nothing to compare with.
  const cP99 = p99Of(candidate);
  const bP99 = p99Of(baseline);
  const limitMs =
    bP99 !== null && total(baseline.latencyCounts) >= Math.max(t.minRequests, 1)
      ? Math.max(t.p99Ratio * bP99, bP99 + t.p99MinIncreaseMs)
      : null;
  const bucketStartMs = (i: number) => (i === 0 ? 0 : (LATENCY_BUCKETS_MS[i - 1] ?? 0));
  const slow = limitMs === null ? 0 : total(candidate.latencyCounts.filter((_, i) => bucketStartMs(i) >= limitMs));
  if (limitMs !== null && enough && wilsonInterval(slow, candidate.requests).lower > P99_TAIL) {
    reasons.push(
      `p99 latency ${millis(cP99 ?? 0)} (${who(c, candidate)}) vs ${millis(bP99 ?? 0)} (${who(b, baseline)}): ` +
        `${count(slow)} requests (${percent(rate(slow, candidate.requests))}) took over ${millis(limitMs)}`,
    );
  }

  const side = (w: StatsWindow, p99Ms: number | null) => ({
    release: w.release ?? null,
    requests: w.requests,
    errors5xx: w.errors5xx,
    rate5xx: rate(w.errors5xx, w.requests),
    upstreamErrors: w.upstreamErrors,
    upstreamErrorRate: rate(w.upstreamErrors, w.requests),
    p99Ms,
    crashes: w.crashes,
  });
  return {
    outcome: reasons.length > 0 ? "failing" : enough ? "healthy" : "undecided",
    reasons,
    evidence: {
      candidate: side(candidate, cP99),
      baseline: side(baseline, bP99),
      p99Estimate: "upper bound of the histogram bucket",
      latency: { limitMs, slowRequests: slow },
      thresholds: {
        minRequests: t.minRequests,
        errorRateIncrease: t.errorRateIncrease,
        p99Ratio: t.p99Ratio,
        p99MinIncreaseMs: t.p99MinIncreaseMs,
        maxCrashes: t.maxCrashes,
      },
    },
  };
}
