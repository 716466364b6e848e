import type { ResolvedConfig } from "../config/resolve.js";
import type { DeployRecord, ReleaseRecord } from "../store/store.js";
import type { Booted } from "./boot.js";
import type { DeployControls } from "./controls.js";
import type { PipelineDeps } from "./pipeline.js";
import type { StepContext } from "./step-recorder.js";

/**
 * What the strategy steps (canary, rolling, bake) need from the deploy that runs them: the new
 * Release and its booted instances, the old Release's name, and a way to report. The pipeline
 * implements it; the strategies stay free of its bookkeeping.
 */
export interface RolloutHost {
  readonly deps: PipelineDeps;
  readonly controls: DeployControls;
  readonly deploy: DeployRecord;
  readonly staged: ReleaseRecord;
  readonly config: ResolvedConfig;
  /** The Release that served before this deploy ("v7"). */
  readonly oldRelease: string;
  /** The new web instances that passed readiness, warm-up and smoke requests. */
  readonly booted: Booted[];
  say(line: string): void;
}

/** Crashes of the new instances since they booted: a restart or an exit after readiness. */
export function crashesOf(host: RolloutHost): number {
  let crashes = 0;
  for (const b of host.booted) {
    const record = host.deps.instances.list({ app: host.staged.app }).find((r) => r.id === b.record.id);
    crashes += Math.max(record?.restarts ?? 0, b.exitedAfterReady ? 1 : 0);
  }
  return crashes;
}

export type { StepContext };
