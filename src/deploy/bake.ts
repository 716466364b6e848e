import type { PoolSpec } from "../router/pool.js";
import type { AppStatsSnapshot } from "../router/stats.js";
import { discardRelease } from "./cleanup.js";
import { type StatsWindow, windowOf } from "./judge.js";
import { judgeFailure } from "./judge-failure.js";
import { crashesOf, type RolloutHost } from "./rollout.js";
import { drainHandedBack } from "./traffic.js";
import { releaseOf, watch } from "./watch.js";

/** The old Release's web instances, kept running out of traffic while the new one bakes. */
export interface Standby {
  /** A Pool over the standby instances, ready to swap back in. */
  pool: PoolSpec;
  instanceIds: string[];
}

export interface BakeOutcome {
  details: Record<string, unknown>;
  /** Set when the new Release was taken out of traffic: the deploy ends rolled back with this. */
  failure: Error | null;
}

/**
 * The bake: the new Release has all the traffic and is watched against the old one's baseline
 * for `bakeMs`. With the old instances on standby, a failing verdict or `baton rollback` swaps
 * them back in one router call (no boot); without standby (after a rolling deploy) the caller
 * boots the old Release again.
 */
export async function bake(
  host: RolloutHost,
  since: AppStatsSnapshot | undefined,
  baseline: StatsWindow,
  standby: Standby | null,
): Promise<BakeOutcome> {
  const { deps, controls, config, staged } = host;
  const candidate = `v${staged.version}`;
  host.say(
    `       watching ${candidate} for ${Math.round(config.bakeMs / 1000)} s against ${host.oldRelease} (${baseline.requests} requests as baseline)` +
      (standby === null ? "" : `; ${standby.instanceIds.length} ${host.oldRelease} instance(s) on standby`),
  );
  // Open since the switch (an abort during the drain waits here); a request already taken stands.
  controls.accepting = new Set(["promote", "abort"]);
  try {
    const result = await watch(deps.traffic, controls, {
      app: staged.app,
      candidate,
      baseline: host.oldRelease,
      durationMs: config.bakeMs,
      rollback: config.rollback,
      since,
      baselineWindow: baseline,
      crashes: () => crashesOf(host),
      say: (line) => host.say(line),
    });
    const details = {
      verdict: result.verdict.outcome,
      evidence: result.verdict.evidence,
      watchedMs: result.ms,
      ended: result.ended,
    };
    if (result.ended === "elapsed" || result.ended === "promote") {
      host.say(`       ${candidate} baked ${Math.round(result.ms / 1000)} s: ${result.verdict.outcome}`);
      return { details, failure: null };
    }
    const failure = judgeFailure(host, result, {});
    if (standby !== null) await swapBack(host, standby);
    return { details, failure };
  } finally {
    controls.accepting = new Set();
  }
}

/** The standby instances take all traffic again; the new Pool drains and its instances stop. */
async function swapBack(host: RolloutHost, standby: Standby): Promise<void> {
  const { traffic, store, instances } = host.deps;
  const { staged } = host;
  const started = Date.now();
  const { previous } = await traffic.swap(staged.app, standby.pool);
  const fromVersion = host.deploy.fromVersion;
  store.transaction(() => {
    store.updateRelease(staged.app, staged.version, { status: "failed" });
    if (fromVersion !== null) store.updateApp(staged.app, { currentVersion: fromVersion });
  });
  for (const id of standby.instanceIds) instances.markRunning(id);
  host.say(`       all traffic back on ${host.oldRelease} in ${Date.now() - started} ms (no boot: it was on standby)`);
  // Users are back on the old Release from here; what follows is tidying up, and a failure in it
  // must not turn the rollback into a "succeeded" deploy of the Release nobody is served by.
  try {
    if (previous !== null) await drainHandedBack(traffic, previous.id, host.config.timeouts.drainMs);
  } catch (error) {
    host.say(`       draining ${previous?.id} failed: ${(error as Error).message}`);
  }
  await Promise.all(
    instances
      .list({ app: staged.app, version: staged.version, type: "web" })
      .map((i) => instances.stop(i.id).catch(() => undefined)),
  );
  await discardRelease(host.deps, staged).catch(() => undefined);
}

/** The old Release's counts before the switch; its whole history when that window is too thin. */
export function baselineOf(
  release: string,
  before: AppStatsSnapshot | undefined,
  atSwitch: AppStatsSnapshot | undefined,
  minRequests: number,
): StatsWindow {
  const window = windowOf(releaseOf(atSwitch, release), releaseOf(before, release), 0);
  return window.requests >= minRequests ? window : windowOf(releaseOf(atSwitch, release), undefined, 0);
}
