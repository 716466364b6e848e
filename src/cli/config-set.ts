import { BatonError } from "../core/errors.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, requireApp } from "./common.js";
import { parseConfigPairs } from "./config-pairs.js";
import { followDeploy } from "./deploy-progress.js";

export const summary = "set config vars: a new release, deployed with the same guarantees";

export const usage = `baton config:set --app NAME KEY=VALUE [KEY=VALUE ...] [--home DIR] [--json]

Makes a new Release with the live code and the changed config vars and deploys it (boot beside
the live release, prove, switch, drain). Values never appear in deploy logs.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION }, true);
  const app = requireApp(values.app);
  if (positionals.length === 0) throw new BatonError("BATON_USAGE", "give at least one KEY=VALUE");
  const set = parseConfigPairs(positionals);
  return followDeploy(
    client(values.home),
    `/v1/apps/${encodeURIComponent(app)}/config`,
    { set },
    values.json === true,
    { method: "PATCH" },
  );
}
