import { batchSizes, type ResolvedConfig, type ResolvedProcess } from "../config/resolve.js";
import type { PoolSpec } from "../router/pool.js";
import type { AppStatsSnapshot } from "../router/stats.js";
import type { InstanceRecord, ReleaseRecord } from "../store/store.js";
import { type Booted, boot, checkStillRunning, checkStillServing, smoke, warm } from "./boot.js";
import { servedBetween } from "./canary.js";
import { poolId, releaseName } from "./paths.js";
import type { RolloutHost } from "./rollout.js";
import { drainHandedBack } from "./traffic.js";

export interface RollingResult {
  /** The Pool that serves the new Release once every batch is in. */
  pool: PoolSpec;
  batches: Array<{
    batch: number;
    started: number;
    stopped: number;
    /** The new Release's share of traffic after this batch, by instance count. */
    weight: number;
    /** Requests each Release served while this batch's weight held, and the new one's share of them. */
    served?: Record<string, number>;
    share?: number | null;
    /** The batch's warm-up (warm()'s details), when app.json has one. */
    warmup?: Record<string, unknown>;
    ms: number;
  }>;
}

/**
 * The rolling strategy: replace the old web instances batch by batch. Each batch boots `surge`
 * new instances beside the old ones (plus `unavailable` in place of old ones taken out first),
 * proves them (readiness, warm-up, smoke), gives the new Release its share of traffic and only
 * then drains and stops as many old instances. With maxUnavailable 0 (the default) capacity never
 * drops below the formation. A failure in any batch takes the new instances out of traffic and
 * boots old ones back up to the formation, so the deploy ends as it began.
 */
export async function rollOut(host: RolloutHost, web: ResolvedProcess, quantity: number): Promise<RollingResult> {
  const { deps, config, staged, deploy } = host;
  const { traffic, instances } = deps;
  const app = staged.app;
  const release = releaseName(staged.version);
  const { surge, unavailable } = batchSizes(quantity, config.rolling);
  let old = currentWeb(host);
  const oldVersion = old[0]?.version ?? 0;
  const base = poolId(app, staged.version, deploy.id);
  const healthPath = config.readiness[0]?.path ?? "/";
  const poolOf = (id: string, rel: string, of: ReadonlyArray<{ port: number | null }>): PoolSpec => ({
    id,
    release: rel,
    targets: of.map((i) => ({ host: "127.0.0.1", port: i.port ?? 0 })),
    healthPath,
  });
  const batches: RollingResult["batches"] = [];
  let shrink = 0;
  /** The batch whose weight holds now, and the router's counts when it began to. */
  let holding: { entry: RollingResult["batches"][number]; since: AppStatsSnapshot | undefined } | null = null;
  const closeHolding = async (): Promise<void> => {
    if (holding === null) return;
    const served = servedBetween(holding.since, await traffic.appStats(app).catch(() => undefined), [
      release,
      releaseName(oldVersion),
    ]);
    const total = Object.values(served).reduce((a, b) => a + b, 0);
    holding.entry.served = served;
    holding.entry.share = total === 0 ? null : Math.round((1000 * (served[release] ?? 0)) / total) / 10;
    holding = null;
  };
  /** Take `n` old instances out of traffic (the active Pool shrinks), drain them, stop them. */
  const retire = async (n: number): Promise<void> => {
    if (n <= 0) return;
    const leaving = old.slice(old.length - n);
    old = old.slice(0, old.length - n);
    shrink++;
    const { previous } = await traffic.swap(app, poolOf(`${base}-old${shrink}`, releaseName(oldVersion), old));
    if (previous !== null) await drainHandedBack(traffic, previous.id, config.timeouts.drainMs);
    await Promise.all(leaving.map((i) => instances.stop(i.id)));
  };
  host.say(
    `       ${quantity} instance(s) in batches of ${surge + unavailable} (maxSurge ${surge}, maxUnavailable ${unavailable})`,
  );
  try {
    for (let batch = 1; host.booted.length < quantity; batch++) {
      const started = Date.now();
      const take = Math.min(surge + unavailable, quantity - host.booted.length);
      // Capacity may drop by `unavailable`, but the last old instance serves until new ones are proven.
      const first = Math.min(unavailable, take, Math.max(0, old.length - 1));
      // The last batch's weight holds while this batch boots, unless old instances leave first.
      if (first > 0) await closeHolding();
      await retire(first);
      const fresh: Booted[] = [];
      await boot(
        deps,
        staged,
        web,
        take,
        (b) => {
          fresh.push(b);
          host.booted.push(b);
        },
        host.booted.length + 1,
      );
      let warmup: Record<string, unknown> | undefined;
      if (config.warmup !== undefined) {
        // The batch's own instances, prepared so that half of their warm-up goes through the
        // router (see warm()); the batch Pool prepared below takes their connections over.
        const batchOnly = poolOf(
          `${base}-b${batch}-warmup`,
          release,
          fresh.map((b) => b.record),
        );
        const prepared = await traffic.prepare(app, batchOnly, { warmup: true }).catch(() => ({ warmup: undefined }));
        warmup = await warm(fresh, config.warmup, prepared.warmup, deps.store.getApp(app)?.domains ?? [], deps.idleCpu);
      }
      if (config.smoke.length > 0) await smoke(fresh, config.smoke);
      checkStillRunning(fresh);
      for (const b of fresh) instances.keepAlive(b.record.id);
      await closeHolding();
      const leaving = Math.min(take - first, old.length);
      const last = host.booted.length >= quantity;
      const weight = last ? 100 : Math.round((100 * host.booted.length) / (host.booted.length + old.length - leaving));
      if (!last) {
        const batchPool = poolOf(
          `${base}-b${batch}`,
          release,
          host.booted.map((b) => b.record),
        );
        await traffic.prepare(app, batchPool).catch(() => undefined);
        const removed = await traffic.setCanary(app, batchPool, weight, false);
        if (removed !== null) await traffic.drain(removed.id, { timeoutMs: 0 });
        await retire(leaving);
      }
      const entry = {
        batch,
        started: fresh.length,
        stopped: first + (last ? 0 : leaving),
        weight,
        ...(warmup === undefined ? {} : { warmup }),
        ms: Date.now() - started,
      };
      batches.push(entry);
      if (!last) holding = { entry, since: await traffic.appStats(app).catch(() => undefined) };
      host.say(
        last
          ? `       batch ${batch}: ${fresh.length} new instance(s) proven; the switch moves the rest of the traffic`
          : `       batch ${batch}: ${fresh.length} new instance(s) proven; ${release} has ${weight}% of traffic (${host.booted.length} new, ${old.length} old)`,
      );
    }
    // The switch is the pipeline's next step; a new instance that died since it was proven is
    // found here, where the old formation can still be restored.
    checkStillServing(instances, host.booted);
  } catch (error) {
    await restore(host, web, oldVersion, quantity, old, poolOf, base).catch((cause) =>
      host.say(`       could not restore the old instances: ${(cause as Error).message}`),
    );
    throw error;
  }
  return {
    pool: poolOf(
      base,
      release,
      host.booted.map((b) => b.record),
    ),
    batches,
  };
}

/** The old Release's running web instances, in index order. */
function currentWeb(host: RolloutHost): InstanceRecord[] {
  return host.deps.instances
    .list({ app: host.staged.app, type: "web" })
    .filter((i) => i.version !== host.staged.version)
    .sort((a, b) => a.index - b.index);
}

/**
 * A batch failed: the new instances leave traffic and old ones are booted again until the
 * formation is whole, so a failed rolling deploy leaves the app as it found it.
 */
async function restore(
  host: RolloutHost,
  web: ResolvedProcess,
  oldVersion: number,
  quantity: number,
  old: InstanceRecord[],
  poolOf: (id: string, rel: string, of: ReadonlyArray<{ port: number | null }>) => PoolSpec,
  base: string,
): Promise<void> {
  const { deps, staged } = host;
  const { traffic, instances, store } = deps;
  const removed = await traffic.setCanary(staged.app, null, 0);
  if (removed !== null) await traffic.drain(removed.id, { timeoutMs: host.config.timeouts.drainMs });
  const missing = quantity - old.length;
  const oldRelease: ReleaseRecord | undefined = store.getRelease(staged.app, oldVersion);
  if (missing <= 0 || oldRelease === undefined) return;
  const oldConfig = oldRelease.appConfig as ResolvedConfig;
  const oldWeb = oldConfig.processes.find((p) => p.name === "web") ?? web;
  const back: Booted[] = [];
  const nextIndex = Math.max(0, ...instances.list({ app: staged.app, version: oldVersion }).map((i) => i.index)) + 1;
  host.say(`       booting ${missing} ${releaseName(oldVersion)} instance(s) again to restore the formation`);
  await boot(deps, oldRelease, oldWeb, missing, (b) => back.push(b), nextIndex);
  for (const b of back) {
    instances.markRunning(b.record.id);
    instances.keepAlive(b.record.id);
  }
  const all = [...old, ...back.map((b) => b.record)];
  const { previous } = await traffic.swap(staged.app, poolOf(`${base}-restored`, releaseName(oldVersion), all));
  if (previous !== null) await traffic.drain(previous.id, { timeoutMs: host.config.timeouts.drainMs });
}
