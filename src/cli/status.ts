import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";
import { describeMaintenance, type MaintenanceView } from "./maintenance.js";
import { since } from "./table.js";

export const summary = "an app's state: live release, instances, the deploy in progress";

export const usage = `baton status --app NAME [--home DIR] [--json]`;

interface StatusView {
  app: string;
  domains: string[];
  isDefault: boolean;
  currentVersion: number | null;
  maintenance: MaintenanceView | null;
  lock: { reason: string; by: string; at: number } | null;
  instances: Array<{ type: string; version: number; state: string }>;
  deploy: { id: number; kind: string; status: string; phase: string; version: number | null } | null;
  lastDeploy: {
    id: number;
    kind: string;
    status: string;
    version: number | null;
    error: { code: string; message: string } | null;
  } | null;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION });
  const app = requireApp(values.app);
  const status = await client(values.home).get<StatusView>(`/v1/apps/${encodeURIComponent(app)}`);
  if (values.json) {
    printJson(status);
    return 0;
  }
  say(`app:      ${status.app}${status.isDefault ? " (default app)" : ""}`);
  say(`domains:  ${status.domains.join(", ")}`);
  say(`release:  ${status.currentVersion === null ? "none live" : `v${status.currentVersion}`}`);
  if (status.lock !== null)
    say(`locked:   by ${status.lock.by} ${since(status.lock.at)} ago: ${status.lock.reason} (deploys refused)`);
  if (status.maintenance !== null) say(describeMaintenance(status.app, status.maintenance));
  const byType = new Map<string, number>();
  for (const i of status.instances)
    byType.set(`${i.type} v${i.version} ${i.state}`, (byType.get(`${i.type} v${i.version} ${i.state}`) ?? 0) + 1);
  say(`running:  ${[...byType].map(([k, n]) => `${n} × ${k}`).join(", ") || "nothing"}`);
  if (status.deploy !== null)
    say(`deploying: ${status.deploy.kind} ${status.deploy.id} ${status.deploy.status} (${status.deploy.phase})`);
  if (status.lastDeploy !== null) {
    const d = status.lastDeploy;
    say(
      `last:     ${d.kind} ${d.id} ${d.status}${d.version === null ? "" : ` (v${d.version})`}${d.error ? `: ${d.error.code} ${d.error.message}` : ""}`,
    );
  }
  return 0;
}
