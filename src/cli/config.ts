import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";

export const summary = "show an app's config vars (values hidden unless --reveal)";

export const usage = `baton config --app NAME [--reveal] [--home DIR] [--json]

Lists the config vars every new Release of NAME gets (set with config:set, removed with
config:unset). Values are secrets (database passwords, API keys): they are shown as their length
only, so a screen share or a pasted terminal does not leak them. --reveal prints them in full;
\`baton config:get --app NAME KEY\` prints one value alone, for scripts.`;

/** What a hidden value looks like: enough to tell set from empty, nothing of the secret. */
export function hiddenValue(value: string): string {
  return value === "" ? "(empty)" : `(hidden, ${value.length} characters)`;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION, reveal: { type: "boolean" } });
  const app = requireApp(values.app);
  const { config } = await client(values.home).get<{ config: Record<string, string> }>(
    `/v1/apps/${encodeURIComponent(app)}/config`,
  );
  const shown = Object.fromEntries(
    Object.entries(config)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, value]) => [key, values.reveal === true ? value : hiddenValue(value)]),
  );
  if (values.json) printJson(shown);
  else if (Object.keys(shown).length === 0) say(`${app} has no config vars`);
  else {
    const width = Math.max(...Object.keys(shown).map((k) => k.length));
    for (const [key, value] of Object.entries(shown)) say(`${`${key}:`.padEnd(width + 1)} ${value}`);
  }
  return 0;
}
