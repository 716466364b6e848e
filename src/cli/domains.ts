import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";

export const summary = "list an app's domains";

export const usage = `baton domains --app NAME [--home DIR] [--json]

The Host names the router sends to the app (a wildcard *.example.com covers every subdomain).
domains:add and domains:remove change them.`;

export interface DomainsView {
  app: string;
  domains: string[];
  isDefault: boolean;
}

export function showDomains(view: DomainsView): void {
  if (view.domains.length === 0) say(`${view.app} has no domains`);
  for (const domain of view.domains) say(domain);
  if (view.isDefault) say(`(${view.app} is the default app: it also gets every Host no app claims)`);
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION });
  const app = requireApp(values.app);
  const view = await client(values.home).get<DomainsView>(`/v1/apps/${encodeURIComponent(app)}/domains`);
  if (values.json) printJson(view);
  else showDomains(view);
  return 0;
}
