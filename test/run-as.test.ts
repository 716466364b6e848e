// Who the apps run as (src/supervisor/run-as.ts): the choice made at `baton server` start-up for
// every euid, and the hand-over of a release directory that must not follow symbolic links.
import assert from "node:assert/strict";
import { lstatSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { BatonError } from "../src/core/errors.js";
import { type AppUser, handOver, lookupUser, resolveAppUser, spawnAs } from "../src/supervisor/run-as.js";
import { cleanup, tmpHome } from "./helpers.js";

after(() => cleanup());

const alice: AppUser = { name: "alice", uid: 1000, gid: 1000, home: "/nonexistent/alice" };
const rootUser: AppUser = { name: "root", uid: 0, gid: 0, home: "/root" };
const users = new Map([
  ["alice", alice],
  ["1000", alice],
  ["root", rootUser],
]);
const lookup = (name: string) => users.get(name);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof BatonError, String(error));
    return error.code;
  }
  return "no error";
}

test("as root: --user names the app user; without it baton refuses unless --allow-root-apps", () => {
  assert.deepEqual(resolveAppUser({ user: "alice" }, 0, lookup), alice);
  assert.deepEqual(resolveAppUser({ user: "1000" }, 0, lookup), alice);
  assert.equal(
    codeOf(() => resolveAppUser({}, 0, lookup)),
    "BATON_APPS_AS_ROOT",
  );
  assert.equal(
    codeOf(() => resolveAppUser({ user: "" }, 0, lookup)),
    "BATON_APPS_AS_ROOT",
  );
  assert.equal(resolveAppUser({ allowRootApps: true }, 0, lookup), undefined);
  // --user root is root: the same explicit consent is needed.
  assert.equal(
    codeOf(() => resolveAppUser({ user: "root" }, 0, lookup)),
    "BATON_APPS_AS_ROOT",
  );
  assert.equal(resolveAppUser({ user: "root", allowRootApps: true }, 0, lookup), undefined);
  assert.equal(
    codeOf(() => resolveAppUser({ user: "nobody-here" }, 0, lookup)),
    "BATON_USAGE",
  );
  assert.equal(
    codeOf(() => resolveAppUser({ user: "-x" }, 0, lookup)),
    "BATON_USAGE",
  );
  assert.equal(
    codeOf(() => resolveAppUser({ user: "a b" }, 0, lookup)),
    "BATON_USAGE",
  );
});

test("not root: the apps run as baton's own user; --user may only name that user", () => {
  assert.equal(resolveAppUser({}, 1000, lookup), undefined);
  assert.equal(resolveAppUser({ allowRootApps: true }, 1000, lookup), undefined);
  assert.equal(resolveAppUser({ user: "alice" }, 1000, lookup), undefined);
  let message = "";
  try {
    resolveAppUser({ user: "alice" }, 1001, lookup);
  } catch (error) {
    message = (error as BatonError).message;
    assert.equal((error as BatonError).code, "BATON_USAGE");
  }
  assert.match(message, /baton runs as uid 1001, and only root can run apps as another user/);
});

test("spawnAs: uid, gid, and HOME/USER/LOGNAME of the user (HOME: the release when the user has none)", () => {
  const env = { PATH: "/usr/bin", HOME: "/root", USER: "root", LOGNAME: "root" };
  assert.deepEqual(spawnAs(undefined, "/srv/app", env), { env });
  assert.deepEqual(spawnAs(alice, "/srv/app", env), {
    uid: 1000,
    gid: 1000,
    env: { PATH: "/usr/bin", HOME: "/srv/app", USER: "alice", LOGNAME: "alice" },
  });
  const withHome = { ...alice, home: tmpHome() };
  assert.equal(spawnAs(withHome, "/srv/app", env).env.HOME, withHome.home);
});

test("lookupUser reads the passwd database by name and by uid", () => {
  const root = lookupUser("root");
  assert.deepEqual(root && { uid: root.uid, gid: root.gid }, { uid: 0, gid: 0 });
  assert.equal(lookupUser("0")?.name, "root");
  assert.equal(lookupUser("no-such-user-anywhere"), undefined);
});

test("handOver chowns a release tree without following its symbolic links", {
  skip: process.geteuid?.() === 0 ? false : "needs root to give files to another user",
}, async () => {
  const outside = join(tmpHome(), "secret");
  writeFileSync(outside, "root's\n", { mode: 0o600 });
  const release = join(tmpHome(), "v1");
  mkdirSync(join(release, "lib"), { recursive: true });
  writeFileSync(join(release, "lib", "index.js"), "");
  symlinkSync(outside, join(release, "evil"));
  const nobody = lookupUser("nobody");
  assert.ok(nobody !== undefined);
  await handOver(release, nobody);
  assert.equal(statSync(release).uid, nobody.uid);
  assert.equal(statSync(join(release, "lib", "index.js")).uid, nobody.uid);
  assert.equal(lstatSync(join(release, "evil")).uid, nobody.uid, "the link itself is the user's");
  assert.equal(statSync(outside).uid, 0, "its target is not");
});
