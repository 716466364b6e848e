import { hostname, userInfo } from "node:os";
import { BatonError } from "../core/errors.js";
import { parse } from "./args.js";
import { COMMON_OPTIONS, client, printJson, say } from "./common.js";

export const summary = "create an app and its git repository: `git push` to it deploys";

export const usage = `baton apps:create NAME [--repo-only] [--home DIR] [--json]

Creates the app NAME (domain NAME.localhost; the first app on a server is the default one) and a
bare git repository for it, <home>/apps/NAME/repo.git, and prints the git remote to add. A push to
its main (or master) branch deploys that commit; the push fails when the deploy does, and the old
release keeps serving. --repo-only gives an existing app (one deployed from a directory so far) its
repository, or rewrites the repository's hook. --json prints { app, remote, path }.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, "repo-only": { type: "boolean" } }, true);
  const [name, ...extra] = positionals;
  if (name === undefined || extra.length > 0)
    throw new BatonError("BATON_USAGE", "baton apps:create takes one app name", { hint: usage.split("\n")[0] });
  const created = await client(values.home).post<{ app: string; domains: string[]; isDefault: boolean; path: string }>(
    "/v1/apps",
    { name, repoOnly: values["repo-only"] === true },
  );
  // Pushes arrive over SSH as this user, to the hook that runs baton with this --home.
  const remote = `ssh://${sshUser()}@${hostname()}${created.path}`;
  if (values.json) {
    printJson({ app: created.app, remote, path: created.path });
    return 0;
  }
  say(
    values["repo-only"]
      ? `${created.app} has a git repository: ${created.path}`
      : `created ${created.app} (${created.domains.join(", ")}${created.isDefault ? ", the default app" : ""}) with a git repository`,
  );
  say("");
  say("Add the remote in your app's repository, then push to deploy:");
  say(`  git remote add baton ${remote}`);
  say("  git push baton main");
  say("");
  say("On this host, the plain path works too:");
  say(`  git remote add baton ${created.path}`);
  return 0;
}

function sshUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "git";
  }
}
