import { resolve } from "node:path";
import { BatonError } from "../core/errors.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, requireApp } from "./common.js";
import { followDeploy } from "./deploy-progress.js";

export const summary = "deploy an app directory (or a git ref of it) with zero downtime";

export const usage = `baton deploy DIR --app NAME [--ref GIT_REF] [--strategy preboot|rolling|canary] [--bake SECONDS]
                    [--home DIR] [--json]

Stages DIR (or the commit GIT_REF of the git repository DIR) as a new Release, builds it while the
old Release serves, runs the Procfile release command, boots the new web instances beside the old
ones, proves them (readiness, warm-up, smoke requests), switches traffic atomically, drains and
stops the old instances. Shows each step live; exits 0 once the new Release is live, 1 if the
deploy failed (the old Release kept serving) or was rolled back. The first deploy of NAME creates
the app.

--strategy overrides app.json's baton.strategy for this deploy: preboot (all traffic at once),
rolling (batches, baton.rolling) or canary (weighted steps, baton.canary; \`baton deploy:promote\`
and \`baton deploy:abort\` act on it). After the switch the old instances stay on standby for the
bake (baton.bakeMs, or --bake SECONDS here; 0 disables) while baton compares the new Release with
the old one and rolls back by itself when it does worse.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...COMMON_OPTIONS,
      ...APP_OPTION,
      ref: { type: "string" },
      strategy: { type: "string" },
      bake: { type: "string" },
    },
    true,
  );
  const app = requireApp(values.app);
  const [dir, ...extra] = positionals;
  if (dir === undefined || extra.length > 0)
    throw new BatonError("BATON_USAGE", "baton deploy takes one directory", { hint: usage.split("\n")[0] });
  if (values.strategy !== undefined && !["preboot", "rolling", "canary"].includes(values.strategy)) {
    throw new BatonError("BATON_USAGE", `--strategy must be preboot, rolling or canary, got "${values.strategy}"`);
  }
  let bakeMs: number | undefined;
  if (values.bake !== undefined) {
    const seconds = Number(values.bake.replace(/s$/, ""));
    if (!(Number.isFinite(seconds) && seconds >= 0 && seconds <= 86_400))
      throw new BatonError("BATON_USAGE", `--bake takes seconds from 0 to 86400, got "${values.bake}"`);
    bakeMs = Math.round(seconds * 1000);
  }
  const body = {
    source: { dir: resolve(dir), ...(values.ref === undefined ? {} : { ref: values.ref }) },
    ...(values.strategy ? { strategy: values.strategy } : {}),
    ...(bakeMs === undefined ? {} : { bakeMs }),
  };
  return followDeploy(client(values.home), `/v1/apps/${encodeURIComponent(app)}/deploys`, body, values.json === true);
}
