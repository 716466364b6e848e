import type { ResolvedConfig } from "../config/resolve.js";
import type { AppStatsSnapshot, ReleaseStatsSnapshot } from "../router/stats.js";
import type { ControlRequest, DeployControls } from "./controls.js";
import { judge, type StatsWindow, type Verdict, windowOf } from "./judge.js";
import type { TrafficDriver } from "./traffic.js";

/** How often the router's counts are read while a release is watched. */
const SAMPLE_MS = 500;
/** How often a watched step prints a progress line. */
const REPORT_MS = 5_000;

export interface WatchSpec {
  app: string;
  /** Release names as the router counts them ("v8"). */
  candidate: string;
  baseline: string;
  durationMs: number;
  rollback: ResolvedConfig["rollback"];
  /** Router counts when the watched period began: the candidate is judged on what came after. */
  since: AppStatsSnapshot | undefined;
  /**
   * The baseline: "concurrent" compares with the old release's counts over the same period (a
   * canary, where both serve); a fixed window is used once the old release gets no more traffic.
   */
  baselineWindow: "concurrent" | StatsWindow;
  /** Crashes of the candidate's instances since the period began. */
  crashes: () => number;
  say: (line: string) => void;
}

export interface WatchResult {
  /** elapsed: the period ran out; failing: the judge found the candidate worse; else a person's request. */
  ended: "elapsed" | "failing" | "promote" | "abort";
  verdict: Verdict;
  request: ControlRequest | null;
  /** Requests each release served over the period, from the router's counts. */
  served: Record<string, number>;
  candidate: StatsWindow;
  baseline: StatsWindow;
  ms: number;
}

/**
 * Watch a release that takes traffic for `durationMs`: read the router's counts twice a second,
 * judge the candidate against the baseline, and end early on a failing verdict (when automatic
 * rollback is on) or a person's promote/abort. The router keeps the counts, so the control plane
 * needs no metrics system and loses nothing between samples.
 */
export async function watch(traffic: TrafficDriver, controls: DeployControls, spec: WatchSpec): Promise<WatchResult> {
  const started = Date.now();
  let lastReport = started;
  const thresholds = spec.rollback;
  for (;;) {
    const elapsed = Date.now() - started;
    await controls.sleep(Math.min(SAMPLE_MS, Math.max(0, spec.durationMs - elapsed)));
    const now = await traffic.appStats(spec.app).catch(() => undefined);
    const candidate = windowOf(releaseOf(now, spec.candidate), releaseOf(spec.since, spec.candidate), spec.crashes());
    const baseline =
      spec.baselineWindow === "concurrent"
        ? windowOf(releaseOf(now, spec.baseline), releaseOf(spec.since, spec.baseline), 0)
        : spec.baselineWindow;
    const verdict = judge(candidate, baseline, thresholds);
    const ms = Date.now() - started;
    const served = {
      [spec.candidate]: candidate.requests,
      ...(spec.baselineWindow === "concurrent" ? { [spec.baseline]: baseline.requests } : {}),
    };
    const result = (ended: WatchResult["ended"]): WatchResult => ({
      ended,
      verdict,
      request: controls.requested,
      served,
      candidate,
      baseline,
      ms,
    });
    // From the moment the watch decides, no new request is taken until a step opens again: a
    // request accepted now would be acted on by nobody.
    const ended: WatchResult["ended"] | undefined =
      controls.requested !== null
        ? controls.requested.kind
        : verdict.outcome === "failing" && thresholds.auto
          ? "failing"
          : ms >= spec.durationMs
            ? "elapsed"
            : undefined;
    if (ended !== undefined) {
      controls.accepting = new Set();
      return result(ended);
    }
    if (Date.now() - lastReport >= REPORT_MS) {
      lastReport = Date.now();
      spec.say(`       ${Math.round(ms / 1000)} s: ${describe(spec, candidate, baseline)} (${verdict.outcome})`);
    }
  }
}

export function releaseOf(stats: AppStatsSnapshot | undefined, release: string): ReleaseStatsSnapshot | undefined {
  return stats?.releases.find((r) => r.release === release);
}

function describe(spec: WatchSpec, candidate: StatsWindow, baseline: StatsWindow): string {
  const one = (name: string, w: StatsWindow) =>
    `${name} ${w.requests} requests, ${w.requests === 0 ? "0" : ((100 * w.errors5xx) / w.requests).toFixed(1)}% 5xx`;
  return `${one(spec.candidate, candidate)} | ${one(spec.baseline, baseline)}`;
}
