import { spawnSync } from "node:child_process";
import { lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { chmod, chown, lstat, mkdir, readdir } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { BatonError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { Store } from "../store/store.js";
import { type AppUser, handOver, ownedBy } from "../supervisor/run-as.js";
import { appPaths } from "./paths.js";

/**
 * The home, `apps`, each app's directory and its `releases`: owned by baton, group the app user's
 * primary group, mode 0710. The app user may pass through them to its release directories but
 * not list them; other users of the host get nothing, as with the home's old 0700.
 */
const PASS_THROUGH = 0o710;

/**
 * Open the home to the app user, for its release directories only, and prove it: run once at
 * start-up, before any app process is spawned. Existing homes are brought along: the path to each
 * release is opened, releases staged before `--user` (or for another user) are handed over, and
 * everything else in the home loses any group or other access it had. Then a shell running as the
 * app user must reach `apps` and must not be able to open anything else of the home (the token,
 * the store, the sockets, the logs, the git repositories); otherwise baton refuses to start.
 */
export async function prepareHomeForAppUser(home: string, store: Store, user: AppUser, log: Logger): Promise<void> {
  await closeAllBut(home, "apps");
  await passThrough(home, user);
  await passThrough(join(home, "apps"), user);
  for (const app of store.listApps()) {
    const paths = appPaths(home, app.name);
    await passThrough(paths.root, user);
    await closeAllBut(paths.root, "releases");
    await passThrough(paths.releases, user);
    const dirs = new Set(
      store
        .listReleases(app.name)
        .filter((r) => !r.pruned && r.status !== "failed" && r.path !== "")
        .map((r) => r.path),
    );
    for (const dir of dirs) {
      // Only what baton staged itself: a recorded path outside the releases directory is never chowned.
      if (!isInside(paths.releases, dir) || (await lstat(dir).catch(() => undefined)) === undefined) continue;
      if (await ownedBy(dir, user)) continue;
      await handOver(dir, user);
      log.info("release directory handed to the app user", { dir, user: user.name });
    }
  }
  proveSeparation(home, user);
  warnAboutAdopted(store, user, log);
}

/** The deploy's stage step: the path to the new release opened, the release handed over. */
export async function giveReleaseTo(home: string, app: string, dir: string, user: AppUser): Promise<void> {
  const paths = appPaths(home, app);
  await passThrough(paths.root, user);
  await passThrough(paths.releases, user);
  await handOver(dir, user);
}

async function passThrough(dir: string, user: AppUser): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chown(dir, process.geteuid?.() ?? 0, user.gid);
  await chmod(dir, PASS_THROUGH);
}

/** Every entry of `dir` but `keep` loses its group and other bits (files baton writes are 0600 already). */
async function closeAllBut(dir: string, keep: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [])) {
    if (name === keep) continue;
    const info = await lstat(join(dir, name)).catch(() => undefined);
    if (info === undefined || info.isSymbolicLink() || (info.mode & 0o077) === 0) continue;
    await chmod(join(dir, name), info.mode & 0o7700);
  }
}

function isInside(parent: string, path: string): boolean {
  const rel = relative(parent, path);
  return rel !== "" && !rel.startsWith("..") && !rel.startsWith(sep);
}

/** What an app user may open in the home, found by asking a shell running as that user. */
function proveSeparation(home: string, user: AppUser): void {
  const apps = join(home, "apps");
  const secrets: string[] = [];
  for (const name of readdirSync(home)) if (name !== "apps") secrets.push(join(home, name));
  for (const app of readdirSync(apps)) {
    const root = join(apps, app);
    if (!lstatSync(root).isDirectory()) continue;
    for (const name of readdirSync(root)) if (name !== "releases") secrets.push(join(root, name));
  }
  const probe = spawnSync(
    "/bin/sh",
    [
      "-c",
      'cd "$1" 2>/dev/null || { echo unreachable; exit 0; }; shift; for f in "$@"; do if [ -r "$f" ] || [ -w "$f" ]; then echo "$f"; fi; done',
      "sh",
      apps,
      ...secrets,
    ],
    { uid: user.uid, gid: user.gid, cwd: "/", encoding: "utf8", timeout: 10_000, env: { PATH: "/usr/bin:/bin" } },
  );
  if (probe.status !== 0 || probe.error !== undefined)
    throw new BatonError("BATON_USAGE", `could not run a shell as user ${user.name} to check the home`, {
      cause: probe.error,
      details: { status: probe.status, stderr: probe.stderr },
      hint: "check that /bin/sh exists and that baton runs as root",
    });
  const lines = probe.stdout.split("\n").filter((l) => l !== "");
  if (lines[0] === "unreachable") {
    const closed = closedAncestor(apps, user);
    throw new BatonError("BATON_USAGE", `user ${user.name} cannot reach the release directories under ${apps}`, {
      details: { closedDirectory: closed ?? null },
      hint:
        closed === undefined
          ? "check the modes and ACLs of the directories above the home"
          : `${closed} is closed to it (mode ${(statSync(closed).mode & 0o7777).toString(8)}). Keep baton's home where other users may pass through, e.g. --home /var/lib/baton (baton opens the home to the app user's group itself, execute only)`,
    });
  }
  if (lines.length > 0)
    throw new BatonError("BATON_USAGE", `user ${user.name} could open baton's own files: ${lines.join(", ")}`, {
      details: { open: lines },
      hint: "remove its access (an ACL, or membership of the files' group), then start again",
    });
}

/** The first directory on the way to `dir` that the user may not pass through (primary group only). */
function closedAncestor(dir: string, user: AppUser): string | undefined {
  const chain: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    chain.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of chain) {
    const info = statSync(d, { throwIfNoEntry: false });
    if (info === undefined) return d;
    const bit = info.uid === user.uid ? 0o100 : info.gid === user.gid ? 0o010 : 0o001;
    if ((info.mode & bit) === 0) return d;
  }
  return undefined;
}

/** Instances adopted from a server that ran without --user keep their user until replaced. */
function warnAboutAdopted(store: Store, user: AppUser, log: Logger): void {
  for (const instance of store.listInstances()) {
    let uid: number | undefined;
    try {
      const status = readFileSync(`/proc/${instance.pid}/status`, "utf8");
      uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    } catch {
      continue;
    }
    if (uid !== undefined && uid !== user.uid)
      log.warn("an instance runs as another user: it keeps running as it is until the next deploy replaces it", {
        instance: instance.id,
        uid,
        appUser: user.name,
      });
  }
}
