import { cliUser } from "../core/who.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";
import { describeMaintenance, type MaintenanceView } from "./maintenance.js";

export const summary = "maintenance mode off: requests reach the app again";

export const usage = `baton maintenance:off --app NAME [--home DIR] [--json]`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION });
  const app = requireApp(values.app);
  const result = await client(values.home).send<{ app: string; maintenance: MaintenanceView | null }>(
    "PUT",
    `/v1/apps/${encodeURIComponent(app)}/maintenance`,
    { enabled: false, by: cliUser() },
  );
  if (values.json) printJson({ app: result.app, enabled: result.maintenance !== null, ...result.maintenance });
  else say(describeMaintenance(result.app, result.maintenance));
  return 0;
}
