import type { ApiClient } from "../api/client.js";
import type { EventRecord } from "../store/store.js";
import { printJson, say } from "./common.js";
import { ms, renderTable } from "./table.js";

/** The steps whose time is the app's own (its build, its release command, its boot and warm-up). */
const APP_STEPS = new Set(["build", "release", "boot", "warmup"]);

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
  method = "POST",
): Promise<number> {
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
  // A live release whose postdeploy failed still needs someone to look: exit 1.
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
      say(event.message);
      break;
    default:
      break;
  }
}

function summary(deploy: Record<string, unknown>): void {
  const steps = (deploy.steps as StepView[] | undefined) ?? [];
  const version = typeof deploy.version === "number" ? `v${deploy.version}` : "(no release)";
  const appMs = steps.filter((s) => APP_STEPS.has(s.name)).reduce((n, s) => n + (s.durationMs ?? 0), 0);
  const total = typeof deploy.durationMs === "number" ? deploy.durationMs : 0;
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
      `${deploy.app} ${version} is live (${deploy.kind} ${deploy.id}) in ${ms(total)}: app ${ms(appMs)}, baton ${ms(Math.max(0, total - appMs))}.`,
    );
  } else {
    say(`${deploy.kind} ${deploy.id} of ${deploy.app} ${version}: ${deploy.status}.`);
    if (error !== null) say(`error ${error.code}: ${error.message}${error.hint ? `\nhint: ${error.hint}` : ""}`);
  }
  say(`Requests failed by the router during the deploy: ${typeof failed === "number" ? failed : "unknown"}.`);
}
