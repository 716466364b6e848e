import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { lchown, lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { BatonError } from "../core/errors.js";

/**
 * The unprivileged user every process of an app runs as (build, release phase, hooks, instances,
 * one-offs) when baton itself runs as root: `baton server --user NAME`.
 */
export interface AppUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** From the passwd entry; may not exist (a system user made with --no-create-home). */
  readonly home: string;
}

export interface AppUserChoice {
  /** `--user` (or BATON_USER): a user name or a numeric uid. */
  user?: string | undefined;
  /** `--allow-root-apps`: root may run apps as root, knowingly. */
  allowRootApps?: boolean;
}

/** POSIX portable user names (plus a trailing $ as Samba's machine accounts have), or a uid. */
const USER_NAME = /^(?:[A-Za-z_][A-Za-z0-9_.-]*\$?|\d+)$/;

/**
 * Which user the apps run as, decided once at start-up. Undefined means "as baton's own user":
 * baton is not root (and --user names no one else), or it is root and --allow-root-apps said so.
 * Root without either is refused: every app would get root, which nobody should get by default.
 */
export function resolveAppUser(
  choice: AppUserChoice,
  euid: number = process.geteuid?.() ?? -1,
  lookup: (name: string) => AppUser | undefined = lookupUser,
): AppUser | undefined {
  const wanted = choice.user?.trim();
  if (wanted === undefined || wanted === "") {
    if (euid !== 0 || choice.allowRootApps === true) return undefined;
    throw new BatonError("BATON_APPS_AS_ROOT", "baton runs as root and would run every app as root", {
      hint:
        "name an unprivileged user for the apps: baton server --user baton-apps (create it with " +
        "`useradd --system --shell /usr/sbin/nologin baton-apps`), or pass --allow-root-apps to run them as root knowingly",
    });
  }
  if (!USER_NAME.test(wanted))
    throw new BatonError("BATON_USAGE", `--user "${wanted}" is not a user name or a uid`, {
      hint: "baton server --user baton-apps",
    });
  const user = lookup(wanted);
  if (user === undefined)
    throw new BatonError("BATON_USAGE", `--user ${wanted}: no such user on this host`, {
      hint: `create it first: useradd --system --shell /usr/sbin/nologin ${/^\d+$/.test(wanted) ? "baton-apps" : wanted}`,
    });
  if (euid !== 0) {
    if (user.uid === euid) return undefined;
    throw new BatonError(
      "BATON_USAGE",
      `--user ${user.name}: baton runs as uid ${euid}, and only root can run apps as another user`,
      {
        hint: "start baton as root to use --user, or leave --user out (the apps then run as baton's own user)",
      },
    );
  }
  if (user.uid === 0) {
    if (choice.allowRootApps === true) return undefined;
    throw new BatonError("BATON_APPS_AS_ROOT", `--user ${user.name} is root (uid 0)`, {
      hint: "name an unprivileged user, or pass --allow-root-apps to run the apps as root knowingly",
    });
  }
  return user;
}

/**
 * A passwd entry by name or uid: `getent passwd` first (it sees LDAP and other NSS sources), then
 * /etc/passwd itself where getent is missing (some minimal images).
 */
export function lookupUser(nameOrUid: string): AppUser | undefined {
  let line: string | undefined;
  try {
    line = execFileSync("getent", ["passwd", nameOrUid], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .split("\n")
      .find((l) => l !== "");
  } catch (error) {
    // Exit code 2 is "no such entry"; anything else (ENOENT: no getent) falls back to the file.
    if ((error as { status?: unknown }).status === 2) return undefined;
    let passwd = "";
    try {
      passwd = readFileSync("/etc/passwd", "utf8");
    } catch {
      return undefined;
    }
    line = passwd.split("\n").find((l) => {
      const [name, , uid] = l.split(":");
      return name === nameOrUid || (/^\d+$/.test(nameOrUid) && uid === nameOrUid);
    });
  }
  if (line === undefined) return undefined;
  const [name, , uid, gid, , home] = line.split(":");
  if (name === undefined || uid === undefined || gid === undefined) return undefined;
  const user = { name, uid: Number(uid), gid: Number(gid), home: home ?? "/" };
  return Number.isInteger(user.uid) && Number.isInteger(user.gid) ? user : undefined;
}

/**
 * The spawn options that make a child the app user: uid and gid (libuv also drops every
 * supplementary group when it switches, so only the user's primary group is left), and HOME, USER
 * and LOGNAME for that user. HOME is the user's home when it exists, else the process's own
 * directory (the release), as Heroku sets HOME=/app: a build's npm needs somewhere to write.
 * Without an app user, the child runs as baton does, with the environment as given.
 */
export function spawnAs(
  user: AppUser | undefined,
  cwd: string,
  env: Record<string, string>,
): { uid?: number; gid?: number; env: Record<string, string> } {
  if (user === undefined) return { env };
  const home = isDirectory(user.home) ? user.home : cwd;
  return { uid: user.uid, gid: user.gid, env: { ...env, HOME: home, USER: user.name, LOGNAME: user.name } };
}

/**
 * Give a directory tree to the app user (a release directory, before its build writes into it).
 * lchown, never chown: a symbolic link in the app's source must not hand its target (say
 * /etc/shadow) to the app.
 */
export async function handOver(dir: string, user: AppUser): Promise<void> {
  await lchown(dir, user.uid, user.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await handOver(path, user);
    else await lchown(path, user.uid, user.gid);
  }
}

/** True when the tree's top already belongs to the user (a release handed over before). */
export async function ownedBy(dir: string, user: AppUser): Promise<boolean> {
  const info = await lstat(dir).catch(() => undefined);
  return info !== undefined && info.uid === user.uid && info.gid === user.gid;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
