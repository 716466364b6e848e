import type { TableDescription } from "../router/ops.js";
import { type AppStatsSnapshot, quantileFromBuckets, type ReleaseStatsSnapshot } from "../router/stats.js";

/**
 * What the sampler reads: the router's admin API (RouterClient), stats and table in one call.
 *
 * It is a POST with a JSON body (`/v1/read`), like every change a deploy makes, and that matters
 * beyond saving a round trip. The router's admin server shares node's http, stream and net code
 * with the proxy, but over a unix socket and with other object shapes. Code V8 optimized while
 * only the proxy ran is thrown away (deoptimized) at the first admin request that differs, and
 * the proxy runs slower until it is compiled again. `node bench/deploy/swap-jit.mjs` (a router
 * under steady load swapped to a Pool holding the same warm instance; medians of 3 rounds,
 * 2026-11-29): with no admin request before it, the swap deoptimized 42 functions and the next
 * two quarter seconds ran at 0.46x and 0.66x the rate, p99 2.4 and 2.0 ms against 0.5; with GETs
 * every 100 ms before, 14 deopts and 1.4 ms at 0.80x; with this POST, 4 deopts and 0.8 ms at 0.97x.
 */
export interface TrafficSource {
  read(): Promise<{ stats: { apps: AppStatsSnapshot[] }; table: TableDescription }>;
}

/** One Release's traffic over one interval (a live sample or a history point). */
export interface ReleaseTraffic {
  release: string;
  requests: number;
  /** Requests per second over the interval. */
  rps: number;
  errors5xx: number;
  /** Failures reaching the instance (connect, reset, timeout): a subset of the 5xx, by cause. */
  upstreamErrors: number;
  retries: number;
  /** p99 of the interval's requests (bucket upper bound, ms); null without requests. */
  p99Ms: number | null;
  /** In flight at the end of the interval (live samples only; 0 in history points). */
  inFlight: number;
}

export interface AppTraffic {
  app: string;
  releases: ReleaseTraffic[];
  /** Requests that had to wait for a ready instance during the interval, and those still waiting. */
  held: number;
  heldNow: number;
  holdTimeouts: number;
  /** The Release users get by default and, during a canary or a rolling batch, the other one with its weight. */
  active: string | null;
  canary: { release: string; weight: number } | null;
}

export interface TrafficSample {
  time: number;
  intervalMs: number;
  apps: AppTraffic[];
}

export interface TrafficPoint {
  /** End of the point's interval. */
  time: number;
  releases: Array<Pick<ReleaseTraffic, "release" | "requests" | "rps" | "errors5xx" | "upstreamErrors" | "p99Ms">>;
}

export interface TrafficHistory {
  app: string;
  pointMs: number;
  points: TrafficPoint[];
}

export interface SamplerOptions {
  /** How often the router is read (default 1 s): the live numbers' resolution. */
  sampleMs?: number;
  /** One history point per this long (default 10 s). */
  pointMs?: number;
  /** How far back the history goes (default one hour). */
  historyMs?: number;
}

/** A history point being filled: counts and latency buckets added up until it closes. */
interface OpenPoint {
  from: number;
  releases: Map<string, { requests: number; errors5xx: number; upstreamErrors: number; buckets: number[] }>;
}

/**
 * Reads the router's cumulative per-Release counts every second and turns them into what people
 * watch: rates, errors and p99 per Release over the last interval (the dashboard's live view,
 * `baton top`), and an hour of 10-second points for the charts. In memory only: the router keeps
 * the counts, so a restarted server loses the charts' past but no count.
 */
export class TrafficSampler {
  private readonly sampleMs: number;
  private readonly pointMs: number;
  private readonly historyMs: number;
  private previous: { time: number; apps: Map<string, AppStatsSnapshot> } | undefined;
  private last: TrafficSample | undefined;
  private readonly open = new Map<string, OpenPoint>();
  private readonly points = new Map<string, TrafficPoint[]>();
  private readonly listeners = new Set<(sample: TrafficSample) => void>();
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  constructor(
    private readonly source: TrafficSource,
    options: SamplerOptions = {},
  ) {
    this.sampleMs = options.sampleMs ?? 1_000;
    this.pointMs = options.pointMs ?? 10_000;
    this.historyMs = options.historyMs ?? 3_600_000;
  }

  start(): void {
    if (this.timer !== undefined) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  /** The newest sample (undefined until the router answered twice). */
  latest(): TrafficSample | undefined {
    return this.last;
  }

  history(app: string): TrafficHistory {
    return { app, pointMs: this.pointMs, points: [...(this.points.get(app) ?? [])] };
  }

  /** Called with every new sample until the returned function is called. */
  subscribe(listener: (sample: TrafficSample) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Read the router once and derive a sample; exposed so tests need not wait for the timer. */
  async sample(): Promise<TrafficSample | undefined> {
    if (this.sampling) return undefined;
    this.sampling = true;
    try {
      const { stats, table } = await this.source.read();
      const now = Date.now();
      const apps = new Map(stats.apps.map((a) => [a.app, a]));
      const previous = this.previous;
      this.previous = { time: now, apps };
      if (previous === undefined) return undefined;
      const intervalMs = Math.max(1, now - previous.time);
      const sample: TrafficSample = {
        time: now,
        intervalMs,
        apps: [...apps.values()].map((a) => this.appTraffic(a, previous.apps.get(a.app), table, intervalMs)),
      };
      for (const app of sample.apps) this.addToHistory(app, apps.get(app.app), previous.apps.get(app.app), now);
      for (const name of [...this.points.keys()]) if (!apps.has(name)) this.forget(name);
      this.last = sample;
      for (const listener of this.listeners) listener(sample);
      return sample;
    } catch {
      // The router did not answer this time (restarting, say): the next tick tries again.
      return undefined;
    } finally {
      this.sampling = false;
    }
  }

  private appTraffic(
    now: AppStatsSnapshot,
    before: AppStatsSnapshot | undefined,
    table: TableDescription,
    intervalMs: number,
  ): AppTraffic {
    const route = table.apps.find((a) => a.name === now.app);
    const releases: ReleaseTraffic[] = [];
    for (const r of now.releases) {
      const d = delta(
        r,
        before?.releases.find((b) => b.release === r.release),
      );
      if (d.requests === 0 && r.inFlight === 0) continue;
      releases.push({
        release: r.release,
        requests: d.requests,
        rps: round((1000 * d.requests) / intervalMs),
        errors5xx: d.errors5xx,
        upstreamErrors: d.upstreamErrors,
        retries: d.retries,
        p99Ms: p99(d.buckets),
        inFlight: r.inFlight,
      });
    }
    const counter = (key: "held" | "holdTimeouts") => {
      const value = now[key] - (before?.[key] ?? 0);
      return value < 0 ? now[key] : value;
    };
    return {
      app: now.app,
      releases,
      held: counter("held"),
      heldNow: now.heldNow,
      holdTimeouts: counter("holdTimeouts"),
      active: route?.active?.release ?? null,
      canary:
        route?.canary === null || route?.canary === undefined
          ? null
          : { release: route.canary.pool.release, weight: route.canary.weight },
    };
  }

  private addToHistory(
    app: AppTraffic,
    now: AppStatsSnapshot | undefined,
    before: AppStatsSnapshot | undefined,
    time: number,
  ): void {
    let open = this.open.get(app.app);
    if (open === undefined) {
      open = { from: time - (time % this.pointMs), releases: new Map() };
      this.open.set(app.app, open);
    }
    for (const r of now?.releases ?? []) {
      const d = delta(
        r,
        before?.releases.find((b) => b.release === r.release),
      );
      if (d.requests === 0) continue;
      const into = open.releases.get(r.release) ?? {
        requests: 0,
        errors5xx: 0,
        upstreamErrors: 0,
        buckets: new Array<number>(d.buckets.length).fill(0),
      };
      into.requests += d.requests;
      into.errors5xx += d.errors5xx;
      into.upstreamErrors += d.upstreamErrors;
      for (let i = 0; i < d.buckets.length; i++) into.buckets[i] = (into.buckets[i] ?? 0) + (d.buckets[i] ?? 0);
      open.releases.set(r.release, into);
    }
    if (time < open.from + this.pointMs) return;
    const points = this.points.get(app.app) ?? [];
    points.push({
      time,
      releases: [...open.releases].map(([release, r]) => ({
        release,
        requests: r.requests,
        rps: round((1000 * r.requests) / Math.max(1, time - open.from)),
        errors5xx: r.errors5xx,
        upstreamErrors: r.upstreamErrors,
        p99Ms: p99(r.buckets),
      })),
    });
    while (points.length > 0 && (points[0]?.time ?? 0) < time - this.historyMs) points.shift();
    this.points.set(app.app, points);
    this.open.set(app.app, { from: time - (time % this.pointMs), releases: new Map() });
  }

  private forget(app: string): void {
    this.points.delete(app);
    this.open.delete(app);
  }
}

/**
 * Counts of one Release between two snapshots. A router that restarted counts from zero again:
 * then the new counts are the delta (Prometheus' rule for counter resets).
 */
function delta(
  now: ReleaseStatsSnapshot,
  before: ReleaseStatsSnapshot | undefined,
): { requests: number; errors5xx: number; upstreamErrors: number; retries: number; buckets: number[] } {
  const reset = before === undefined || now.requests < before.requests;
  const base = reset ? undefined : before;
  const upstream = (s: ReleaseStatsSnapshot | undefined) =>
    s === undefined ? 0 : s.errors.connect + s.errors.reset + s.errors.timeout;
  return {
    requests: now.requests - (base?.requests ?? 0),
    errors5xx: now.statusClasses["5xx"] - (base?.statusClasses["5xx"] ?? 0),
    upstreamErrors: upstream(now) - upstream(base),
    retries: now.retries - (base?.retries ?? 0),
    buckets: now.latency.counts.map((c, i) => c - (base?.latency.counts[i] ?? 0)),
  };
}

function p99(buckets: readonly number[]): number | null {
  const q = quantileFromBuckets(buckets, 0.99);
  return q < 0 ? null : q;
}

const round = (n: number): number => Math.round(n * 10) / 10;
