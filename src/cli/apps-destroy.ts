import { BatonError } from "../core/errors.js";
import { cliUser } from "../core/who.js";
import type { DestroyReport } from "../deploy/app-admin.js";
import { parse } from "./args.js";
import { COMMON_OPTIONS, client, printJson, say } from "./common.js";

export const summary = "destroy an app: stop everything of it and delete its releases and history";

export const usage = `baton apps:destroy NAME --confirm NAME [--home DIR] [--json]

Takes the app out of the router (in-flight requests finish), stops every instance of it, and
deletes its releases, deploys, steps, instances and events from the store and its directory
(<home>/apps/NAME: release files, logs, git repository). Refused while a deploy of it is queued or
runs (BATON_DEPLOY_IN_PROGRESS). There is no undo: --confirm must repeat the name.`;

/** Stopping instances waits out their stop timeouts; draining its Pools, the drain timeout (capped). */
const DESTROY_TIMEOUT_MS = 180_000;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, confirm: { type: "string" } }, true);
  const [name, ...extra] = positionals;
  if (name === undefined || extra.length > 0)
    throw new BatonError("BATON_USAGE", "give the name of one app to destroy", { hint: usage.split("\n")[0] });
  if (values.confirm !== name) {
    throw new BatonError(
      "BATON_USAGE",
      `destroying ${name} deletes its releases, deploys and files; there is no undo`,
      {
        hint: `confirm with: baton apps:destroy ${name} --confirm ${name}`,
      },
    );
  }
  const { destroyed } = await client(values.home).send<{ destroyed: DestroyReport }>(
    "DELETE",
    `/v1/apps/${encodeURIComponent(name)}`,
    { confirm: values.confirm, by: cliUser() },
    DESTROY_TIMEOUT_MS,
  );
  if (values.json) printJson(destroyed);
  else
    say(
      `${destroyed.app} destroyed: ${destroyed.instancesStopped.length} instances stopped, ` +
        `${destroyed.releasesDeleted} releases and ${destroyed.deploysDeleted} deploys deleted`,
    );
  return 0;
}
