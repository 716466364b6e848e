import { BatonError } from "../core/errors.js";
import { cliUser } from "../core/who.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";

export const summary = "lock an app: new deploys, rollbacks and config changes are refused";

export const usage = `baton apps:lock --app NAME --reason "..." [--home DIR] [--json]

Until \`baton apps:unlock\`, deploys (and pushes), rollbacks and config:set/unset of the app are
refused with BATON_APP_LOCKED, naming the reason, who locked it and when. A deploy already
running goes on; maintenance, domains and deploy:abort still work.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION, reason: { type: "string" } });
  const app = requireApp(values.app);
  if (values.reason === undefined || values.reason.trim() === "")
    throw new BatonError("BATON_USAGE", 'apps:lock needs --reason "..." (shown to whoever is refused)');
  const result = await client(values.home).send<{ app: string; lock: { reason: string; by: string; at: number } }>(
    "PUT",
    `/v1/apps/${encodeURIComponent(app)}/lock`,
    { reason: values.reason, by: cliUser() },
  );
  if (values.json) printJson(result);
  else say(`${result.app} is locked by ${result.lock.by}: ${result.lock.reason}`);
  return 0;
}
