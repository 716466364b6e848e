import { BatonError } from "../core/errors.js";
import { cliUser } from "../core/who.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, requireApp } from "./common.js";
import { followDeploy } from "./deploy-progress.js";

export const summary = "stop a queued or running deploy safely (before its switch: nothing changes; after: roll back)";

export const usage = `baton deploy:cancel --app NAME [DEPLOY_ID] [--home DIR] [--json]

Without DEPLOY_ID: the deploy running now, else the newest queued one.
  queued                      it never runs (cancelled)
  running, before its switch  it stops before its next step (a build or a migration under way
                              finishes first: killed half-way it would be worse); its instances
                              stop, nothing changed for users (cancelled)
  in its canary or bake       everyone goes back to the old release at once (rolled_back)
  live, nothing on standby    a rollback deploy is queued and followed
Exits 0 once that is done.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION }, true);
  const app = requireApp(values.app);
  const [id, ...extra] = positionals;
  if (extra.length > 0 || (id !== undefined && !/^\d+$/.test(id)))
    throw new BatonError("BATON_USAGE", "baton deploy:cancel takes at most one deploy id (a number)");
  return followDeploy(
    client(values.home),
    `/v1/apps/${encodeURIComponent(app)}/deploy/cancel`,
    { ...(id === undefined ? {} : { id: Number(id) }), by: cliUser() },
    values.json === true,
    { cancelIsSuccess: true, abortIsSuccess: true },
  );
}
