import { BatonError } from "../core/errors.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, requireApp } from "./common.js";
import { followDeploy } from "./deploy-progress.js";

export const summary = "remove config vars: a new release, deployed with the same guarantees";

export const usage = `baton config:unset --app NAME KEY [KEY ...] [--home DIR] [--json]`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION }, true);
  const app = requireApp(values.app);
  if (positionals.length === 0) throw new BatonError("BATON_USAGE", "give at least one KEY");
  return followDeploy(
    client(values.home),
    `/v1/apps/${encodeURIComponent(app)}/config`,
    { unset: positionals },
    values.json === true,
    { method: "PATCH" },
  );
}
