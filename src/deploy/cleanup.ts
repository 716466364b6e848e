import { rm } from "node:fs/promises";
import type { ReleaseRecord } from "../store/store.js";
import type { PipelineDeps } from "./pipeline.js";

/**
 * The `cleanup` step: keep the release directories of the newest `keep` Releases that served, and
 * always the current and the previous one (the instant-rollback target), whatever `keep` says.
 * Config changes and rollbacks share their code directory with an older Release; a directory is
 * removed only when no kept Release uses it.
 */
export async function cleanupReleases(
  deps: PipelineDeps,
  app: string,
  keep: number,
  previous: number | null,
): Promise<Record<string, unknown>> {
  const { store } = deps;
  const current = store.getApp(app)?.currentVersion ?? null;
  const onDisk = store.listReleases(app).filter((r) => !r.pruned && r.status === "ready");
  const kept = onDisk.filter((r, n) => n < keep || r.version === current || r.version === previous);
  const keptPaths = new Set(kept.map((r) => r.path));
  const removed: number[] = [];
  for (const release of onDisk) {
    if (kept.includes(release)) continue;
    if (!keptPaths.has(release.path)) await rm(release.path, { recursive: true, force: true });
    store.updateRelease(app, release.version, { pruned: true });
    removed.push(release.version);
  }
  return { kept: kept.map((r) => r.version), pruned: removed };
}

/** A Release that never served can never be rolled back to: its directory goes at once. */
export async function discardRelease(deps: PipelineDeps, release: ReleaseRecord): Promise<void> {
  if (release.path === "") return;
  const shared = deps.store
    .listReleases(release.app)
    .some((r) => r.version !== release.version && r.path === release.path && !r.pruned);
  if (!shared) await rm(release.path, { recursive: true, force: true });
  deps.store.updateRelease(release.app, release.version, { pruned: true });
}
