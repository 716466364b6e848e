import { BatonError } from "../core/errors.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";

export const summary = "send all traffic to a running canary now (or end a bake early)";

export const usage = `baton deploy:promote --app NAME [--home DIR] [--json]

Acts on the app's running deploy. During its canary steps: the canary gets 100% of the traffic at
once and the remaining steps are skipped; the bake still follows, with the old instances on
standby and the judge watching. During its bake: the bake ends now and the old instances stop.
Fails with BATON_NO_ACTIVE_ROLLOUT when no deploy of NAME is in a canary or bake.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION }, true);
  const app = requireApp(values.app);
  if (positionals.length > 0) throw new BatonError("BATON_USAGE", "baton deploy:promote takes no arguments");
  const answer = await client(values.home).post<{ deploy: { id: number; version: number | null } }>(
    `/v1/apps/${encodeURIComponent(app)}/deploy/promote`,
    {},
  );
  if (values.json === true) printJson(answer);
  else say(`deploy ${answer.deploy.id} of ${app}: v${answer.deploy.version} promoted; it gets all traffic now.`);
  return 0;
}
