import { BatonError } from "../core/errors.js";
import { cliUser } from "../core/who.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";
import type { DomainsView } from "./domains.js";

export const summary = "add a domain to an app (routed at once)";

export const usage = `baton domains:add --app NAME HOST [--home DIR] [--json]

HOST is a host name (shop.example.com) or a wildcard (*.shop.example.com: every subdomain). The
router sends requests with that Host to the app from now on. A domain another app has is refused.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION }, true);
  const app = requireApp(values.app);
  const [host, ...extra] = positionals;
  if (host === undefined || extra.length > 0) throw new BatonError("BATON_USAGE", "give one HOST to add");
  const view = await client(values.home).post<DomainsView>(`/v1/apps/${encodeURIComponent(app)}/domains`, {
    host,
    by: cliUser(),
  });
  if (values.json) printJson(view);
  else say(`${view.app} now answers for: ${view.domains.join(", ")}`);
  return 0;
}
