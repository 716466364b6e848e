import type { DeployRecord, StepRecord, Store } from "../store/store.js";

/** Steps whose time is the app's own: its build, release command, boot and warm-up. */
export const APP_STEPS: ReadonlySet<string> = new Set(["build", "release", "boot", "warmup"]);
/**
 * Steps whose time the chosen strategy spends on purpose: batches (which include their boots),
 * canary shares and the bake. Neither the app's cost nor baton's overhead.
 */
export const STRATEGY_STEPS: ReadonlySet<string> = new Set(["rollout", "canary", "bake"]);

export interface TimeSplit {
  appMs: number;
  strategyMs: number;
  /** Everything else in the deploy's duration: baton's own overhead. */
  batonMs: number;
}

/** How a deploy's time divides between the app, the strategy's deliberate waits, and baton. */
export function timeSplit(
  durationMs: number,
  steps: readonly Pick<StepRecord, "name" | "startedAt" | "finishedAt">[],
): TimeSplit {
  let appMs = 0;
  let strategyMs = 0;
  for (const s of steps) {
    const ms = s.finishedAt === null ? 0 : s.finishedAt - s.startedAt;
    if (APP_STEPS.has(s.name)) appMs += ms;
    else if (STRATEGY_STEPS.has(s.name)) strategyMs += ms;
  }
  return { appMs, strategyMs, batonMs: Math.max(0, durationMs - appMs - strategyMs) };
}

/**
 * A deploy as the API and `baton deploy --json` show it (docs/cli.md): the record, its duration,
 * and its steps with durations. Step output stays out unless asked: it can be large.
 */
export function deployView(store: Store, deploy: DeployRecord, withSteps: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = {
    ...deploy,
    request: withoutConfigValues(deploy.request),
    durationMs: deploy.startedAt !== null && deploy.finishedAt !== null ? deploy.finishedAt - deploy.startedAt : null,
  };
  if (withSteps) {
    const steps = store.listSteps(deploy.id);
    if (typeof view.durationMs === "number") view.time = timeSplit(view.durationMs, steps);
    view.steps = steps.map((s) => ({
      name: s.name,
      status: s.status,
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
      durationMs: s.finishedAt === null ? null : s.finishedAt - s.startedAt,
      details: s.details,
    }));
  }
  return view;
}

/**
 * A deploy's request with config values replaced: a config change is shown by its keys, never its
 * values (they are secrets often), in every view the API gives.
 */
function withoutConfigValues(request: Record<string, unknown>): Record<string, unknown> {
  const set = request.set;
  if (typeof set !== "object" || set === null) return request;
  return { ...request, set: Object.fromEntries(Object.keys(set).map((key) => [key, "(hidden)"])) };
}

/**
 * Which config vars a Release added, removed or changed against the one before it: keys only.
 * Values are compared here, on the server, and never leave it (they are secrets often).
 */
export function configKeyDiff(
  before: Record<string, string>,
  after: Record<string, string>,
): { added: string[]; removed: string[]; changed: string[] } {
  const keys = (record: Record<string, string>) => Object.keys(record).sort();
  return {
    added: keys(after).filter((k) => !Object.hasOwn(before, k)),
    removed: keys(before).filter((k) => !Object.hasOwn(after, k)),
    changed: keys(after).filter((k) => Object.hasOwn(before, k) && before[k] !== after[k]),
  };
}
