import { BatonError } from "../core/errors.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, requireApp } from "./common.js";
import { followDeploy } from "./deploy-progress.js";

export const summary = "go back to the previous (or a named) release, with the same guarantees";

export const usage = `baton rollback --app NAME [vN] [--release-phase] [--home DIR] [--json]

While a deploy bakes (its old instances on standby) or runs a canary, rollback is instant: one
router swap sends every user back to the old release, no boot; the new instances drain and stop.

Otherwise it makes a new Release with the code and config vars of vN (default: the release that
was live before the current one) and deploys it through the same pipeline: boot beside the live
release, prove, switch, drain. The release phase is skipped unless --release-phase is given.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { ...COMMON_OPTIONS, ...APP_OPTION, "release-phase": { type: "boolean" } },
    true,
  );
  const app = requireApp(values.app);
  const [target, ...extra] = positionals;
  if (extra.length > 0) throw new BatonError("BATON_USAGE", "baton rollback takes at most one version");
  let version: number | undefined;
  if (target !== undefined) {
    const match = /^v?(\d+)$/.exec(target);
    if (match === null) throw new BatonError("BATON_USAGE", `"${target}" is not a version (like v3)`);
    version = Number(match[1]);
  }
  const body = { ...(version === undefined ? {} : { version }), releasePhase: values["release-phase"] === true };
  return followDeploy(client(values.home), `/v1/apps/${encodeURIComponent(app)}/rollback`, body, values.json === true, {
    abortIsSuccess: true,
  });
}
