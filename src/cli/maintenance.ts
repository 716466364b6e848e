import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";
import { since } from "./table.js";

export const summary = "show whether an app is in maintenance mode";

export const usage = `baton maintenance --app NAME [--home DIR] [--json]

Prints "on" (since when, by whom, Retry-After, which page) or "off". maintenance:on and
maintenance:off change it.`;

export interface MaintenanceView {
  retryAfterS: number;
  /** The custom page's file name; null for baton's own page. */
  page: string | null;
  since: number;
  by: string;
}

export function describeMaintenance(app: string, m: MaintenanceView | null): string {
  if (m === null) return `maintenance is off for ${app}: requests are routed to it`;
  return (
    `maintenance is on for ${app} (since ${since(m.since)} ago, by ${m.by}): requests get 503 with ` +
    `Retry-After ${m.retryAfterS} s and ${m.page === null ? "baton's maintenance page" : `the page ${m.page}`}`
  );
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION });
  const app = requireApp(values.app);
  const result = await client(values.home).get<{ app: string; maintenance: MaintenanceView | null }>(
    `/v1/apps/${encodeURIComponent(app)}/maintenance`,
  );
  if (values.json) printJson({ app: result.app, enabled: result.maintenance !== null, ...result.maintenance });
  else say(describeMaintenance(result.app, result.maintenance));
  return 0;
}
