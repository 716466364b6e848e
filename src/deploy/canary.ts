import { BatonError } from "../core/errors.js";
import type { PoolSpec } from "../router/pool.js";
import type { AppStatsSnapshot } from "../router/stats.js";
import { judgeFailure } from "./judge-failure.js";
import { crashesOf, type RolloutHost } from "./rollout.js";
import { drainHandedBack } from "./traffic.js";
import { releaseOf, watch } from "./watch.js";

export interface CanaryResult {
  /** Router counts when the canary began: the bake goes on judging from here. */
  since: AppStatsSnapshot | undefined;
  steps: Array<{ weight: number; bakeMs: number; ms: number; served: Record<string, number>; share: number | null }>;
  promotedBy: string | null;
}

/**
 * The canary step: send a growing share of traffic to the new Release (each client kept on the
 * Release it first got, by cookie) and watch each share for its bake time. A failing verdict, or
 * a person's abort, takes the canary out of traffic at once and ends the deploy rolled back; a
 * promote skips the remaining steps. The switch to 100% is the pipeline's next step.
 */
export async function runCanary(host: RolloutHost, pool: PoolSpec): Promise<CanaryResult> {
  const { deps, controls, config, staged } = host;
  const { traffic, instances } = deps;
  const app = staged.app;
  const candidate = pool.release;
  // The canary serves users now: a crash restarts it (and counts against it).
  for (const b of host.booted) instances.keepAlive(b.record.id);
  const since = await traffic.appStats(app).catch(() => undefined);
  const steps: CanaryResult["steps"] = [];
  try {
    await traffic.prepare(app, pool).catch(() => undefined);
    for (const step of config.canary.steps) {
      await traffic.setCanary(app, pool, step.weight, config.canary.sticky);
      controls.accepting = new Set(["promote", "abort"]);
      host.say(`       ${step.weight}% of traffic to ${candidate} for ${Math.round(step.bakeMs / 1000)} s`);
      const stepSince = await traffic.appStats(app).catch(() => undefined);
      const result = await watch(traffic, controls, {
        app,
        candidate,
        baseline: host.oldRelease,
        durationMs: step.bakeMs,
        rollback: config.rollback,
        since,
        baselineWindow: "concurrent",
        crashes: () => crashesOf(host),
        say: (line) => host.say(line),
      });
      const now = await traffic.appStats(app).catch(() => undefined);
      const served = servedBetween(stepSince, now, [candidate, host.oldRelease]);
      const total = Object.values(served).reduce((a, b) => a + b, 0);
      const share = total === 0 ? null : Math.round((1000 * (served[candidate] ?? 0)) / total) / 10;
      steps.push({ weight: step.weight, bakeMs: step.bakeMs, ms: result.ms, served, share });
      host.say(
        `       ${candidate} served ${share ?? "-"}% of ${total} requests at weight ${step.weight}% (${result.verdict.outcome})`,
      );
      if (result.ended === "promote") {
        const by = controls.requested?.by ?? "a person";
        host.say(`       promoted by ${by}: skipping the remaining steps (the bake still watches)`);
        // Consumed here: the bake that follows must watch, not end at once.
        controls.requested = null;
        return { since, steps, promotedBy: by };
      }
      if (result.ended === "failing" || result.ended === "abort") {
        await takeOut(host);
        throw judgeFailure(host, result, { steps });
      }
    }
    return { since, steps, promotedBy: null };
  } catch (error) {
    if (error instanceof BatonError && (error.code === "BATON_ROLLED_BACK" || error.code === "BATON_DEPLOY_ABORTED"))
      throw error;
    // Anything else (the router unreachable, say): the canary must not keep its share.
    await takeOut(host).catch(() => undefined);
    throw error;
  } finally {
    controls.accepting = new Set();
  }
}

/** All traffic back to the old Release at once; the canary Pool drains (its users finish). */
async function takeOut(host: RolloutHost): Promise<void> {
  const { traffic } = host.deps;
  const removed = await traffic.setCanary(host.staged.app, null, 0);
  host.say(`       all traffic back on ${host.oldRelease}`);
  if (removed !== null) await drainHandedBack(traffic, removed.id, host.config.timeouts.drainMs);
}

/** Requests each release answered between two router snapshots. */
export function servedBetween(
  before: AppStatsSnapshot | undefined,
  after: AppStatsSnapshot | undefined,
  releases: string[],
): Record<string, number> {
  const served: Record<string, number> = {};
  for (const release of releases) {
    served[release] = Math.max(
      0,
      (releaseOf(after, release)?.requests ?? 0) - (releaseOf(before, release)?.requests ?? 0),
    );
  }
  return served;
}
