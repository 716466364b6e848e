import { hostname, userInfo } from "node:os";
import { BatonError } from "../core/errors.js";
import { resolveHome } from "../core/home.js";
import { parse } from "./args.js";
import { COMMON_OPTIONS, client, printJson, say } from "./common.js";

export const summary = "create an app and its git repository: `git push` to it deploys";

export const usage = `baton apps:create NAME [--repo-only] [--home DIR] [--json]

Creates the app NAME (domain NAME.localhost; the first app on a server is the default one) and a
bare git repository for it, <home>/apps/NAME/repo.git, and prints the git remote to add. A push to
its main (or master) branch deploys that commit; the push fails when the deploy does, and the old
release keeps serving. --repo-only gives an existing app (one deployed from a directory so far) its
repository, or rewrites the repository's hook. When the server takes pushes over HTTP (\`baton server
--git-port\`), the HTTP remote too: http://baton@HOST:PORT/NAME.git, without the token (git asks
for it as the password; a credential helper keeps it). --json prints { app, remote, path,
httpRemote } (httpRemote null without a git port).`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, "repo-only": { type: "boolean" } }, true);
  const [name, ...extra] = positionals;
  if (name === undefined || extra.length > 0)
    throw new BatonError("BATON_USAGE", "baton apps:create takes one app name", { hint: usage.split("\n")[0] });
  const api = client(values.home);
  const created = await api.post<{ app: string; domains: string[]; isDefault: boolean; path: string }>("/v1/apps", {
    name,
    repoOnly: values["repo-only"] === true,
  });
  // Pushes arrive over SSH as this user, to the hook that runs baton with this --home.
  const remote = `ssh://${sshUser()}@${hostname()}${created.path}`;
  const httpRemote = httpRemoteOf(await api.get<GitAddress>("/v1/health"), created.app);
  if (values.json) {
    printJson({ app: created.app, remote, path: created.path, httpRemote });
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
  if (httpRemote !== null) {
    // The URL leaves the token out: a remote URL is stored in .git/config and shown by `git
    // remote -v` and in CI logs. git asks for the password once; a credential helper keeps it.
    say("");
    say("Or over HTTP; git asks for a password: the server's token, which a credential helper can keep:");
    say(`  git remote add baton ${httpRemote}`);
    say(`  cat ${resolveHome(values.home)}/token    # the password (any user name works)`);
  }
  return 0;
}

interface GitAddress {
  gitHost?: string | null;
  gitPort?: number | null;
}

/** http://baton@HOST:PORT/NAME.git when the server has a git port; a wildcard host is this host's name. */
function httpRemoteOf({ gitHost, gitPort }: GitAddress, app: string): string | null {
  if (typeof gitPort !== "number" || typeof gitHost !== "string") return null;
  const host =
    gitHost === "0.0.0.0" || gitHost === "::" ? hostname() : gitHost.includes(":") ? `[${gitHost}]` : gitHost;
  return `http://baton@${host}:${gitPort}/${app}.git`;
}

function sshUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "git";
  }
}
