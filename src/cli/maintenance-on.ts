import { readFileSync } from "node:fs";
import { BatonError } from "../core/errors.js";
import { cliUser } from "../core/who.js";
import { intOption, parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";
import { describeMaintenance, type MaintenanceView } from "./maintenance.js";

export const summary = "maintenance mode on: requests get 503 with Retry-After and a page";

export const usage = `baton maintenance:on --app NAME [--page FILE.html] [--retry-after SECONDS] [--home DIR] [--json]

The router answers every request for the app with 503, Retry-After (default 60 s) and the page
FILE.html (baton's own page without --page; API clients asking for JSON get JSON). Health checks,
deploys, rollbacks and config changes go on while it is on, and a deploy leaves it on. It is
stored: a restarted server or router keeps it. Run it again to change the page or Retry-After.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...COMMON_OPTIONS,
    ...APP_OPTION,
    page: { type: "string" },
    "retry-after": { type: "string" },
  });
  const app = requireApp(values.app);
  const retryAfterS = intOption(values["retry-after"], "retry-after");
  let html: string | undefined;
  if (values.page !== undefined) {
    try {
      html = readFileSync(values.page, "utf8");
    } catch (error) {
      throw new BatonError("BATON_USAGE", `cannot read --page ${values.page}: ${(error as Error).message}`);
    }
  }
  const result = await client(values.home).send<{ app: string; maintenance: MaintenanceView | null }>(
    "PUT",
    `/v1/apps/${encodeURIComponent(app)}/maintenance`,
    {
      enabled: true,
      ...(retryAfterS === undefined ? {} : { retryAfterS }),
      ...(html === undefined ? {} : { html, page: values.page }),
      by: cliUser(),
    },
  );
  if (values.json) printJson({ app: result.app, enabled: result.maintenance !== null, ...result.maintenance });
  else say(describeMaintenance(result.app, result.maintenance));
  return 0;
}
