import { BatonError } from "../core/errors.js";
import { cliUser } from "../core/who.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";
import type { DomainsView } from "./domains.js";

export const summary = "remove a domain from an app (unrouted at once)";

export const usage = `baton domains:remove --app NAME HOST [--home DIR] [--json]

Requests with that Host stop reaching the app at once (they go to the default app, if there is
one, or get 404). Removing the last domain is allowed: the app is then reached only as the
default app.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION }, true);
  const app = requireApp(values.app);
  const [host, ...extra] = positionals;
  if (host === undefined || extra.length > 0) throw new BatonError("BATON_USAGE", "give one HOST to remove");
  const view = await client(values.home).send<DomainsView>(
    "DELETE",
    `/v1/apps/${encodeURIComponent(app)}/domains/${encodeURIComponent(host)}`,
    { by: cliUser() },
  );
  if (values.json) printJson(view);
  else
    say(
      view.domains.length === 0
        ? `${view.app} has no domains left${view.isDefault ? " (it still gets every Host as the default app)" : ""}`
        : `${view.app} now answers for: ${view.domains.join(", ")}`,
    );
  return 0;
}
