import type { ApiClient } from "../api/client.js";
import type { TimeSplit } from "../api/views.js";
import type { EventRecord } from "../store/store.js";
import { printJson, say } from "./common.js";
import { ms, renderTable } from "./table.js";

interface StepView {
  name: string;
  status: string;
  durationMs: number | null;
  details: Record<string, unknown>;
}

/**
 * Follow a deploy-like request (deploy, rollback, config change) to its end: each step live on a
 * terminal, one JSON object with --json. Exit code 0 only when the Release went live.
 */
export async function followDeploy(
  api: ApiClient,
  path: string,
  body: unknown,
  json: boolean,
  options: { method?: string; abortIsSuccess?: boolean; liveIsSuccess?: boolean; cancelIsSuccess?: boolean } = {},
): Promise<number> {
  const method = options.method ?? "POST";
  const onEvent = json ? () => {} : (event: EventRecord) => show(event);
  const deploy = await api.stream(method, path, body, onEvent);
  if (deploy.applied !== undefined) {
    const applied = deploy.applied as { app: string; keys: string[] };
    if (json) printJson(deploy);
    else
      say(
        `${applied.app} serves nothing yet: config vars stored (${applied.keys.join(", ") || "none"}); the first deploy uses them.`,
      );
    return 0;
  }
  if (json) printJson(deploy);
  else summary(deploy);
  // What the person asked for happened: the old release serves again.
  const error = deploy.error as { code?: string } | null;
  if (options.abortIsSuccess === true && deploy.status === "rolled_back" && error?.code === "BATON_DEPLOY_ABORTED")
    return 0;
  if (options.cancelIsSuccess === true && deploy.status === "cancelled") return 0;
  // A live release whose postdeploy failed still needs someone to look: exit 1. Except for a git
  // push, which must be accepted once its commit serves, or the branch would name the wrong commit.
  if (options.liveIsSuccess === true && deploy.status === "succeeded") return 0;
  return deploy.status === "succeeded" && deploy.error === null ? 0 : 1;
}

function show(event: EventRecord): void {
  switch (event.kind) {
    case "deploy.step.started":
      say(`-----> ${event.message}`);
      break;
    case "deploy.output":
      for (const line of event.message.replace(/\n$/, "").split("\n")) say(`       ${line}`);
      break;
    case "deploy.step.finished":
      say(`       ${event.message}`);
      break;
    case "deploy.queued":
    case "deploy.superseded":
    case "deploy.abort_requested":
    case "deploy.cancel_requested":
    case "deploy.cancelled":
    case "deploy.promote_requested":
      say(event.message);
      break;
    default:
      break;
  }
}

function summary(deploy: Record<string, unknown>): void {
  const steps = (deploy.steps as StepView[] | undefined) ?? [];
  const version = typeof deploy.version === "number" ? `v${deploy.version}` : "(no release)";
  const total = typeof deploy.durationMs === "number" ? deploy.durationMs : 0;
  const time = (deploy.time as TimeSplit | undefined) ?? { appMs: 0, strategyMs: 0, batonMs: total };
  say("");
  say(
    renderTable(
      [
        ["step", "status", "time"],
        ...steps.map((s) => [s.name, s.status, s.status === "skipped" ? "" : ms(s.durationMs)]),
      ],
      new Set([0, 1]),
    ),
  );
  say("");
  const failed = deploy.failedRequests;
  const error = deploy.error as { code: string; message: string; hint?: string } | null;
  if (deploy.status === "succeeded") {
    if (error !== null) say(`warning ${error.code}: ${error.message}${error.hint ? `\nhint: ${error.hint}` : ""}`);
    say(
      `${deploy.app} ${version} is live (${deploy.kind} ${deploy.id}) in ${ms(total)}: app ${ms(time.appMs)}, ` +
        `${time.strategyMs > 0 ? `strategy ${ms(time.strategyMs)} (rollout, canary, bake), ` : ""}baton ${ms(time.batonMs)}.`,
    );
  } else if (deploy.status === "rolled_back") {
    const back = typeof deploy.fromVersion === "number" ? `v${deploy.fromVersion}` : "the old release";
    say(`${deploy.kind} ${deploy.id} of ${deploy.app} ${version}: rolled back; ${back} serves.`);
    if (error !== null) say(`${error.code}: ${error.message}${error.hint ? `\nhint: ${error.hint}` : ""}`);
  } else {
    say(`${deploy.kind} ${deploy.id} of ${deploy.app} ${version}: ${deploy.status}.`);
    if (error !== null) say(`error ${error.code}: ${error.message}${error.hint ? `\nhint: ${error.hint}` : ""}`);
  }
  say(`Requests failed by the router during the deploy: ${typeof failed === "number" ? failed : "unknown"}.`);
}
