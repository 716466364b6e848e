import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Store } from "../store/store.js";
import { runCommand } from "../supervisor/command.js";
import type { AppUser } from "../supervisor/run-as.js";

/** Files whose bytes decide what `npm ci` or `npm install` puts in node_modules. */
const INPUT_FILES = ["package.json", "package-lock.json", "npm-shrinkwrap.json", ".npmrc"];
/** The root package's scripts npm runs on install: what they make may depend on any source file. */
const INSTALL_SCRIPTS = ["preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare"];
const DEPENDENCY_FIELDS = ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"];
/** Dependency specs that point into the source tree, which changes with every Release. */
const LOCAL_SPEC = /^(file:|link:|\.{1,2}\/|\/|~\/)|\.(tgz|tar\.gz|tar)$/;
/** Environment variables npm reads (NODE_ENV decides whether devDependencies are installed). */
const NPM_ENV = /^(NODE_ENV|npm_config_.+|NPM_CONFIG_.+)$/;
/** How many of the app's latest deploys are searched for a build with the same inputs. */
const SEARCH_DEPLOYS = 20;
/** What the Node.js that runs the build is: its native modules are built for it. */
const NODE_IDENTITY = "process.version+' '+process.platform+' '+process.arch+' abi '+process.versions.modules";

/**
 * An override on a path or tarball. (A `$name` reference takes the version of a root dependency,
 * whose own spec is checked with the others.)
 */
function localOverride(overrides: unknown): boolean {
  if (typeof overrides === "string") return LOCAL_SPEC.test(overrides);
  if (typeof overrides !== "object" || overrides === null) return false;
  return Object.values(overrides).some(localOverride);
}

/** The first package a lockfile (its bytes) marks as running an install script, if any. */
function installScriptIn(lockfile: Buffer | undefined): string | undefined {
  if (lockfile === undefined) return undefined;
  try {
    const packages = (
      JSON.parse(lockfile.toString("utf8")) as { packages?: Record<string, { hasInstallScript?: boolean }> }
    ).packages;
    const found = Object.entries(packages ?? {}).find(([path, p]) => path !== "" && p?.hasInstallScript === true);
    return found === undefined ? undefined : found[0].replace(/^.*node_modules\//, "");
  } catch {
    return undefined;
  }
}

export type DependencyInputs = { key: string } | { uncachable: string };

/**
 * What an install in `dir` depends on, as one hash: the bytes of package.json, the lockfile and
 * .npmrc, the Node.js on the build's PATH (version, platform, arch, module ABI) and the variables
 * npm reads (NODE_ENV, npm_config_*). Two Releases with the same key get the same node_modules
 * from npm, so the second can copy the first's. Uncachable when the root package runs scripts on
 * install, has workspaces or depends on a path in the source, or when a dependency runs an install
 * script: their result can change with any file of the app.
 */
export async function dependencyInputs(
  dir: string,
  env: Record<string, string>,
  user?: AppUser,
): Promise<DependencyInputs> {
  const hash = createHash("sha256");
  const files = new Map<string, Buffer | undefined>();
  for (const name of INPUT_FILES) {
    const bytes = await readFile(join(dir, name)).catch(() => undefined);
    files.set(name, bytes);
    hash.update(`${name}\0${bytes === undefined ? "absent" : bytes.length}\0`);
    if (bytes !== undefined) hash.update(bytes);
  }
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(files.get("package.json")?.toString("utf8") ?? "") as Record<string, unknown>;
  } catch {
    return { uncachable: "package.json does not parse" };
  }
  const scripts = (pkg.scripts ?? {}) as Record<string, unknown>;
  const script = INSTALL_SCRIPTS.find((name) => typeof scripts[name] === "string");
  if (script !== undefined) return { uncachable: `package.json has a "${script}" script, which npm runs on install` };
  if (pkg.workspaces !== undefined)
    return { uncachable: "package.json has workspaces (their packages are in the source)" };
  for (const field of DEPENDENCY_FIELDS) {
    for (const [name, spec] of Object.entries((pkg[field] ?? {}) as Record<string, unknown>)) {
      if (typeof spec === "string" && LOCAL_SPEC.test(spec))
        return { uncachable: `dependency "${name}" is a path in the source (${spec})` };
    }
  }
  if (localOverride(pkg.overrides)) return { uncachable: "package.json overrides a dependency with a path" };
  // A dependency's own install script may read the app's files (prisma's client generates from
  // the app's schema): its output is not a function of the lockfile.
  // npm reads npm-shrinkwrap.json before package-lock.json.
  const scripted = installScriptIn(files.get("npm-shrinkwrap.json") ?? files.get("package-lock.json"));
  if (scripted !== undefined) return { uncachable: `dependency "${scripted}" runs an install script` };
  // Asked as the app's user, without NODE_OPTIONS (which may --require the app's own code).
  const { NODE_OPTIONS: _, ...nodeEnv } = env;
  const identity = await runCommand({
    command: `node -p "${NODE_IDENTITY}"`,
    cwd: dir,
    env: nodeEnv,
    timeoutMs: 10_000,
    user,
  });
  if (identity.code !== 0) return { uncachable: "no node on the build's PATH answered" };
  hash.update(`node\0${identity.output.trim()}\0`);
  for (const name of Object.keys(env)
    .filter((n) => NPM_ENV.test(n))
    .sort())
    hash.update(`${name}=${env[name]}\0`);
  return { key: hash.digest("hex") };
}

/**
 * The newest Release of `app` still on disk that served (its deploy succeeded or was rolled back
 * after its switch) and whose build recorded `key`: its node_modules is what an install would make.
 */
export function releaseBuiltWith(
  store: Store,
  app: string,
  key: string,
  exceptVersion: number,
): { version: number; path: string } | undefined {
  const deploys = store.listDeploys({ app, statuses: ["succeeded", "rolled_back"], limit: SEARCH_DEPLOYS });
  for (const deploy of deploys) {
    if (deploy.kind !== "deploy" || deploy.version === null || deploy.version === exceptVersion) continue;
    const release = store.getRelease(app, deploy.version);
    if (release === undefined || release.pruned || release.status !== "ready" || !existsSync(release.path)) continue;
    const build = store.listSteps(deploy.id).find((s) => s.name === "build" && s.status === "succeeded");
    if ((build?.details.dependencies as { key?: unknown } | undefined)?.key === key)
      return { version: release.version, path: release.path };
  }
  return undefined;
}

/**
 * Give the new Release `to` a copy of the node_modules of `from` (a reflink where the file system
 * has them): a local copy, not a download. A copy, not hard links: the new Release's build may
 * write into node_modules, and the live Release (and the rollback target) must not see it. Build
 * tools' caches (node_modules/.cache) are left out. A lockfile the earlier install wrote comes too
 * when the source has none, as the install would have written it. False when it did not work.
 */
export async function linkDependencies(
  from: string,
  to: string,
  env: Record<string, string>,
  niceness: number,
  user?: AppUser,
): Promise<boolean> {
  const script = [
    "set -e",
    'rm -rf "$TO/node_modules"',
    'if [ -d "$FROM/node_modules" ]; then',
    '  cp -a --reflink=auto "$FROM/node_modules" "$TO/node_modules"',
    '  rm -rf "$TO/node_modules/.cache"',
    "fi",
    'if [ ! -e "$TO/package-lock.json" ] && [ ! -e "$TO/npm-shrinkwrap.json" ] && [ -e "$FROM/package-lock.json" ]; then',
    '  cp -p "$FROM/package-lock.json" "$TO/package-lock.json"',
    "fi",
  ].join("\n");
  const result = await runCommand({
    command: script,
    cwd: to,
    env: { ...env, FROM: from, TO: to },
    timeoutMs: 10 * 60_000,
    niceness,
    user,
  });
  return result.code === 0;
}
