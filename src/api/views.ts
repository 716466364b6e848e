import type { DeployRecord, Store } from "../store/store.js";

/**
 * A deploy as the API and `baton deploy --json` show it (docs/cli.md): the record, its duration,
 * and its steps with durations. Step output stays out unless asked: it can be large.
 */
export function deployView(store: Store, deploy: DeployRecord, withSteps: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = {
    ...deploy,
    durationMs: deploy.startedAt !== null && deploy.finishedAt !== null ? deploy.finishedAt - deploy.startedAt : null,
  };
  if (withSteps) {
    view.steps = store.listSteps(deploy.id).map((s) => ({
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
