import { BatonError } from "../core/errors.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, requireApp } from "./common.js";
import { followDeploy } from "./deploy-progress.js";

export const summary = "stop a running canary or bake: all traffic back to the old release at once";

export const usage = `baton deploy:abort --app NAME [--home DIR] [--json]

Acts on the app's running deploy while its canary steps or its bake run: every user goes back to
the old release in one router swap (no boot: its instances are still running), the new instances
drain and stop, and the deploy ends rolled_back with BATON_DEPLOY_ABORTED. Exits 0 once the old
release serves. Fails with BATON_NO_ACTIVE_ROLLOUT when no deploy of NAME is in a canary or bake.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION }, true);
  const app = requireApp(values.app);
  if (positionals.length > 0) throw new BatonError("BATON_USAGE", "baton deploy:abort takes no arguments");
  return followDeploy(
    client(values.home),
    `/v1/apps/${encodeURIComponent(app)}/deploy/abort`,
    {},
    values.json === true,
    {
      abortIsSuccess: true,
    },
  );
}
