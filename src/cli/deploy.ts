import { resolve } from "node:path";
import { BatonError } from "../core/errors.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, requireApp } from "./common.js";
import { followDeploy } from "./deploy-progress.js";

export const summary = "deploy an app directory (or a git ref of it) with zero downtime";

export const usage = `baton deploy DIR --app NAME [--ref GIT_REF] [--strategy preboot] [--home DIR] [--json]

Stages DIR (or the commit GIT_REF of the git repository DIR) as a new Release, builds it while the
old Release serves, runs the Procfile release command, boots the new web instances beside the old
ones, proves them (readiness, warm-up, smoke requests), switches traffic atomically, drains and
stops the old instances. Shows each step live; exits 0 once the new Release is live, 1 if the
deploy failed (the old Release kept serving). The first deploy of NAME creates the app.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { ...COMMON_OPTIONS, ...APP_OPTION, ref: { type: "string" }, strategy: { type: "string" } },
    true,
  );
  const app = requireApp(values.app);
  const [dir, ...extra] = positionals;
  if (dir === undefined || extra.length > 0)
    throw new BatonError("BATON_USAGE", "baton deploy takes one directory", { hint: usage.split("\n")[0] });
  if (values.strategy !== undefined && values.strategy !== "preboot") {
    throw new BatonError(
      "BATON_USAGE",
      `strategy "${values.strategy}" is not available yet; this version deploys with preboot`,
    );
  }
  const body = {
    source: { dir: resolve(dir), ...(values.ref === undefined ? {} : { ref: values.ref }) },
    ...(values.strategy ? { strategy: values.strategy } : {}),
  };
  return followDeploy(client(values.home), `/v1/apps/${encodeURIComponent(app)}/deploys`, body, values.json === true);
}
