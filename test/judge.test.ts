import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  addWindows,
  DEFAULT_THRESHOLDS,
  judge,
  type StatsWindow,
  wilsonInterval,
  windowOf,
} from "../src/deploy/judge.js";
import { LATENCY_BUCKETS_MS, ReleaseStats, type ReleaseStatsSnapshot } from "../src/router/stats.js";

const t = DEFAULT_THRESHOLDS;

/** mulberry32: a tiny seeded PRNG, so every trial can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal by Box-Muller. */
const normal = (rng: () => number) => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());

/** The bucket the router puts a response of `ms` in. */
const bucketOf = (ms: number) => LATENCY_BUCKETS_MS.findIndex((bound) => ms <= bound);

/** A window of `requests` requests, placed at the given latencies (the rest at 20 ms). */
function win(w: {
  release?: string;
  requests: number;
  errors5xx?: number;
  upstreamErrors?: number;
  crashes?: number;
  at?: [ms: number, n: number][];
}): StatsWindow {
  const latencyCounts = new Array<number>(LATENCY_BUCKETS_MS.length).fill(0);
  let placed = 0;
  for (const [ms, n] of w.at ?? []) {
    latencyCounts[bucketOf(ms)]! += n;
    placed += n;
  }
  latencyCounts[bucketOf(20)]! += w.requests - placed;
  return {
    ...(w.release === undefined ? {} : { release: w.release }),
    requests: w.requests,
    errors5xx: w.errors5xx ?? 0,
    upstreamErrors: w.upstreamErrors ?? 0,
    latencyCounts,
    crashes: w.crashes ?? 0,
  };
}

/** `n` requests with log-normal latencies around `medianMs` and independent error chances. */
function sample(
  rng: () => number,
  s: { release: string; n: number; medianMs: number; sigma: number; errorRate?: number; upstreamRate?: number },
): StatsWindow {
  const w = win({ release: s.release, requests: 0 });
  for (let i = 0; i < s.n; i++) {
    w.requests++;
    w.latencyCounts[bucketOf(s.medianMs * Math.exp(s.sigma * normal(rng)))]!++;
    if (rng() < (s.errorRate ?? 0)) w.errors5xx++;
    if (rng() < (s.upstreamRate ?? 0)) w.upstreamErrors++;
  }
  return w;
}

const cleanBaseline = win({ release: "v7", requests: 2000 });

describe("judge: error rates", () => {
  test("a Release answering 20% 500s fails within 200 requests", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = prng(seed);
      const candidate = win({ release: "v8", requests: 0 });
      let failedAt = 0;
      while (failedAt === 0 && candidate.requests < 1000) {
        candidate.requests++;
        candidate.latencyCounts[bucketOf(20)]!++;
        if (rng() < 0.2) candidate.errors5xx++;
        if (judge(candidate, cleanBaseline, t).outcome === "failing") failedAt = candidate.requests;
      }
      assert.ok(failedAt >= t.minRequests && failedAt <= 200, `seed ${seed}: failed at ${failedAt}`);
    }
  });

  test("the reason is one sentence with both rates and both request counts", () => {
    const verdict = judge(
      win({ release: "v8", requests: 212, errors5xx: 42 }),
      win({ release: "v7", requests: 1840, errors5xx: 2 }),
      t,
    );
    assert.equal(verdict.outcome, "failing");
    assert.deepEqual(verdict.reasons, ["5xx rate 19.8% (v8, 212 requests) vs 0.1% (v7, 1,840 requests)"]);
    const evidence = verdict.evidence as { candidate: { rate5xx: number }; baseline: { requests: number } };
    assert.equal(evidence.candidate.rate5xx, 42 / 212);
    assert.equal(evidence.baseline.requests, 1840);
    assert.deepEqual(verdict.evidence.thresholds, { ...t });
  });

  test("the same behaviour on both sides is healthy, a little worse included", () => {
    const baseline = win({ release: "v7", requests: 2000, errors5xx: 20, upstreamErrors: 20 });
    for (const [requests, errors] of [
      [300, 3],
      [400, 6],
      [200, 3],
    ] as const) {
      const candidate = win({ release: "v8", requests, errors5xx: errors, upstreamErrors: errors });
      const verdict = judge(candidate, baseline, t);
      assert.equal(verdict.outcome, "healthy", `${errors} errors in ${requests}: ${verdict.reasons.join("; ")}`);
      assert.deepEqual(verdict.reasons, []);
    }
  });

  test("upstream errors are judged on their own, and retried ones cannot push a rate past 100%", () => {
    const verdict = judge(win({ release: "v8", requests: 300, upstreamErrors: 60 }), cleanBaseline, t);
    assert.equal(verdict.outcome, "failing");
    assert.equal(verdict.reasons.length, 1);
    assert.match(verdict.reasons[0]!, /^upstream error rate 20\.0% \(v8, 300 requests\) vs 0\.0% \(v7/);
    const retried = judge(win({ release: "v8", requests: 150, upstreamErrors: 400 }), cleanBaseline, t);
    assert.match(retried.reasons[0]!, /^upstream error rate 100\.0%/);
  });

  test("the Wilson interval widens with few requests and always holds the observed rate", () => {
    assert.deepEqual(wilsonInterval(0, 0), { lower: 0, upper: 1 });
    const few = wilsonInterval(2, 10);
    const many = wilsonInterval(200, 1000);
    assert.ok(few.lower < 0.2 && few.upper > 0.2 && many.lower < 0.2 && many.upper > 0.2);
    assert.ok(many.upper - many.lower < few.upper - few.lower);
  });
});

describe("judge: latency", () => {
  test("a Release 5x slower (about 100 ms against 20 ms) fails", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = prng(seed);
      const baseline = sample(rng, { release: "v7", n: 2000, medianMs: 20, sigma: 0.25 });
      const candidate = sample(rng, { release: "v8", n: 200, medianMs: 100, sigma: 0.25 });
      const verdict = judge(candidate, baseline, t);
      assert.equal(verdict.outcome, "failing", `seed ${seed}`);
      assert.match(
        verdict.reasons[0]!,
        /^p99 latency [\d.]+ ms \(v8, 200 requests\) vs [\d.]+ ms \(v7, 2,000 requests\): \d+ requests \([\d.]+%\) took over [\d.]+ ms$/,
      );
    }
  });

  test("a Release 1.3x slower passes", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = prng(seed);
      const baseline = sample(rng, { release: "v7", n: 2000, medianMs: 20, sigma: 0.25 });
      const candidate = sample(rng, { release: "v8", n: 500, medianMs: 26, sigma: 0.25 });
      assert.equal(judge(candidate, baseline, t).outcome, "healthy", `seed ${seed}`);
    }
  });

  test("a few very slow requests are not a slow p99", () => {
    const candidate = win({ release: "v8", requests: 400, at: [[5000, 2]] });
    assert.equal(judge(candidate, cleanBaseline, t).outcome, "healthy");
  });
});

describe("judge: no false alarm from noise", () => {
  test("200 seeded trials of one distribution on both sides never fail", () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      const rng = prng(seed);
      const shared = {
        medianMs: 2 + rng() * 300,
        sigma: 0.1 + rng() * 1.1,
        errorRate: rng() * 0.05,
        upstreamRate: rng() * 0.02,
      };
      const baseline = sample(rng, { release: "v7", n: 100 + Math.floor(rng() * 3000), ...shared });
      const candidate = sample(rng, { release: "v8", n: 100 + Math.floor(rng() * 700), ...shared });
      const verdict = judge(candidate, baseline, t);
      if (verdict.outcome !== "healthy") failures.push(`seed ${seed}: ${verdict.reasons.join("; ")}`);
    }
    assert.deepEqual(failures, []);
  });
});

describe("judge: when to give a verdict", () => {
  test("50 requests give no verdict, whatever they show", () => {
    const awful = win({ release: "v8", requests: 50, errors5xx: 50, upstreamErrors: 50, at: [[20000, 50]] });
    const verdict = judge(awful, cleanBaseline, t);
    assert.equal(verdict.outcome, "undecided");
    assert.deepEqual(verdict.reasons, []);
    assert.equal((verdict.evidence.candidate as { requests: number }).requests, 50);
  });

  test("a crash fails at once, before any request", () => {
    const verdict = judge(win({ release: "v8", requests: 0, crashes: 1 }), cleanBaseline, t);
    assert.equal(verdict.outcome, "failing");
    assert.deepEqual(verdict.reasons, ["1 instance crash of v8 (at most 0 allowed)"]);
    const tolerant = { ...t, maxCrashes: 1 };
    assert.equal(judge(win({ requests: 0, crashes: 1 }), cleanBaseline, tolerant).outcome, "undecided");
    assert.equal(judge(win({ requests: 300, crashes: 1 }), cleanBaseline, tolerant).outcome, "healthy");
  });

  test("an empty baseline: error rates against an absolute ceiling, latency not judged", () => {
    const empty = windowOf(undefined);
    const slowButClean = win({ release: "v8", requests: 500, errors5xx: 2, at: [[9000, 500]] });
    const verdict = judge(slowButClean, empty, t);
    assert.equal(verdict.outcome, "healthy");
    assert.deepEqual(verdict.evidence.latency, { limitMs: null, slowRequests: 0 });
    const failing = judge(win({ release: "v8", requests: 500, errors5xx: 50 }), { ...empty, release: "v7" }, t);
    assert.equal(failing.outcome, "failing");
    assert.deepEqual(failing.reasons, [
      "5xx rate 10.0% (v8, 500 requests) vs a ceiling of 1% (no v7 requests to compare with)",
    ]);
  });

  test("a baseline below minRequests gives no latency verdict", () => {
    const verdict = judge(win({ requests: 500, at: [[9000, 500]] }), win({ requests: 99 }), t);
    assert.equal(verdict.outcome, "healthy");
  });
});

describe("windowOf and addWindows", () => {
  const record = (stats: ReleaseStats, n: number, status: number, ms: number) => {
    for (let i = 0; i < n; i++) stats.recordResponse(status, ms);
  };

  test("a window is the difference of two snapshots", () => {
    const stats = new ReleaseStats("v8");
    record(stats, 100, 200, 20);
    stats.connectErrors += 3;
    const before = stats.snapshot();
    record(stats, 40, 200, 20);
    record(stats, 10, 503, 3000);
    stats.connectErrors += 2;
    stats.resetErrors++;
    stats.timeoutErrors++;
    const after = stats.snapshot();

    const window = windowOf(after, before, 2);
    assert.equal(window.release, "v8");
    assert.equal(window.requests, 50);
    assert.equal(window.errors5xx, 10);
    assert.equal(window.upstreamErrors, 4);
    assert.equal(window.crashes, 2);
    assert.equal(window.latencyCounts.length, LATENCY_BUCKETS_MS.length);
    assert.equal(window.latencyCounts[bucketOf(20)], 40);
    assert.equal(window.latencyCounts[bucketOf(3000)], 10);

    const all = windowOf(after);
    assert.equal(all.requests, 150);
    assert.equal(all.upstreamErrors, 7);
    assert.equal(all.crashes, 0);
    assert.deepEqual(windowOf(undefined), win({ requests: 0 }));
  });

  test("a window is never negative, and a restarted router's counts are all inside it", () => {
    const old = new ReleaseStats("v8");
    record(old, 150, 500, 20);
    const restarted = new ReleaseStats("v8");
    record(restarted, 30, 200, 20);
    const window = windowOf(restarted.snapshot(), old.snapshot());
    assert.equal(window.requests, 30);
    assert.equal(window.errors5xx, 0);
    assert.equal(window.latencyCounts[bucketOf(20)], 30);

    const stats = new ReleaseStats("v8");
    record(stats, 10, 200, 20);
    const shrunk: ReleaseStatsSnapshot = stats.snapshot();
    const grown = {
      ...shrunk,
      statusClasses: { ...shrunk.statusClasses, "5xx": 5 },
      errors: { ...shrunk.errors, reset: 5 },
    };
    const fell = windowOf(shrunk, grown);
    assert.equal(fell.errors5xx, 0);
    assert.equal(fell.upstreamErrors, 0);
    assert.ok(fell.latencyCounts.every((n) => n === 0));
  });

  test("a snapshot with other buckets gives an empty histogram, not a misread one", () => {
    const stats = new ReleaseStats("v8");
    record(stats, 10, 200, 20);
    const snapshot = stats.snapshot();
    const foreign = { ...snapshot, latency: { ...snapshot.latency, bucketsMs: [...snapshot.latency.bucketsMs, 99] } };
    const window = windowOf(foreign);
    assert.equal(window.requests, 10);
    assert.equal(
      window.latencyCounts.reduce((a, b) => a + b, 0),
      0,
    );
  });

  test("addWindows sums every count", () => {
    const a = win({ release: "v8", requests: 100, errors5xx: 3, upstreamErrors: 1, crashes: 1, at: [[300, 10]] });
    const b = win({ requests: 50, errors5xx: 2, upstreamErrors: 4, at: [[300, 5]] });
    const sum = addWindows(a, b);
    assert.equal(sum.release, "v8");
    assert.equal(sum.requests, 150);
    assert.equal(sum.errors5xx, 5);
    assert.equal(sum.upstreamErrors, 5);
    assert.equal(sum.crashes, 1);
    assert.equal(sum.latencyCounts[bucketOf(300)], 15);
    assert.equal(sum.latencyCounts[bucketOf(20)], 135);
  });
});
