import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";

export const summary = "show an app's config vars";

export const usage = `baton config --app NAME [--home DIR] [--json]

Prints the config vars every new Release of NAME gets (set with config:set, removed with config:unset).`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION });
  const app = requireApp(values.app);
  const { config } = await client(values.home).get<{ config: Record<string, string> }>(
    `/v1/apps/${encodeURIComponent(app)}/config`,
  );
  if (values.json) printJson(config);
  else if (Object.keys(config).length === 0) say(`${app} has no config vars`);
  else {
    const width = Math.max(...Object.keys(config).map((k) => k.length));
    for (const [key, value] of Object.entries(config).sort()) say(`${`${key}:`.padEnd(width + 1)} ${value}`);
  }
  return 0;
}
