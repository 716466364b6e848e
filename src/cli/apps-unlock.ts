import { cliUser } from "../core/who.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";

export const summary = "unlock an app locked with apps:lock";

export const usage = `baton apps:unlock --app NAME [--home DIR] [--json]`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION });
  const app = requireApp(values.app);
  const result = await client(values.home).send<{ app: string; lock: null }>(
    "DELETE",
    `/v1/apps/${encodeURIComponent(app)}/lock`,
    { by: cliUser() },
  );
  if (values.json) printJson(result);
  else say(`${result.app} is unlocked: deploys, rollbacks and config changes are accepted`);
  return 0;
}
