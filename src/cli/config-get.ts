import { BatonError } from "../core/errors.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, requireApp } from "./common.js";

export const summary = "print one config var's value (for scripts)";

export const usage = `baton config:get --app NAME KEY [--home DIR]

Prints the value of KEY alone, followed by a newline, e.g. DATABASE_URL=$(baton config:get --app
shop DATABASE_URL). Exits 1 with BATON_NOT_FOUND when NAME has no such var.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION }, true);
  const app = requireApp(values.app);
  const [key, ...rest] = positionals;
  if (key === undefined || rest.length > 0) throw new BatonError("BATON_USAGE", "baton config:get takes one KEY");
  const { config } = await client(values.home).get<{ config: Record<string, string> }>(
    `/v1/apps/${encodeURIComponent(app)}/config`,
  );
  // Own keys only: "constructor" is not a config var.
  const value = Object.hasOwn(config, key) ? config[key] : undefined;
  if (value === undefined)
    throw new BatonError("BATON_NOT_FOUND", `${app} has no config var ${key}`, {
      hint: `\`baton config --app ${app}\` lists them`,
    });
  process.stdout.write(`${value}\n`);
  return 0;
}
