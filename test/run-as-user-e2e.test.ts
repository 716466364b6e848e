// `baton server --user NAME` as root, through the real CLI and server: the build, the release
// command, every instance and `baton run` are processes of that user (checked in /proc, not only
// as the app reports it), the app cannot open the token, the store, the sockets or the logs, and
// a deploy and a rollback under load fail no request. The user is a throwaway system user made
// here and removed at the end. Needs root (it makes a user and switches to it): skipped otherwise,
// except under CI=true, where the runners are root and a skip would hide a regression.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { appPaths, serverPaths } from "../src/deploy/paths.js";
import { LoadRun } from "../src/load/load.js";
import { RouterClient } from "../src/router/client.js";
import { freePort } from "../src/supervisor/ports.js";
import { type AppUser, lookupUser } from "../src/supervisor/run-as.js";
import {
  type DeployJson,
  explained,
  fixtureApp,
  type InstanceJson,
  killGroup,
  note,
  parseJson,
  cli as runCli,
  type ServerProc,
  startServer,
  stopEverything,
} from "./e2e-harness.js";
import { cleanup, http, tmpHome } from "./helpers.js";

const APP = "shop";
const HOST = `${APP}.localhost`;
const USERADD = "/usr/sbin/useradd";
const USERDEL = "/usr/sbin/userdel";

const whyNot =
  process.geteuid?.() !== 0
    ? "needs root: it creates a system user and runs the apps as it"
    : !existsSync(USERADD) || !existsSync(USERDEL)
      ? `needs ${USERADD} and ${USERDEL} (Debian's passwd package)`
      : undefined;
const skip = whyNot ?? false;

if (whyNot !== undefined && process.env.CI === "true") {
  test("run-as-user e2e must run under CI", () => {
    assert.fail(`CI runs as root with useradd, yet: ${whyNot}`);
  });
}

interface Identity {
  uid: number;
  gid: number;
  groups: number[];
  home: string | null;
  user: string | null;
  opened: Record<string, string>;
}

/** Every process running as `uid`, from /proc. */
function pidsOf(uid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (uidOf(Number(entry)) === uid) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** The real uid of a process, from the kernel. */
function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
}

describe("apps run as an unprivileged user (--user)", { skip }, () => {
  // Made in before(): a skipped suite runs no hooks, so it must leave nothing to clean up.
  let home = "";
  let work = "";
  const name = `baton-test-${randomBytes(2).toString("hex")}`;
  let user: AppUser | undefined;
  let server: ServerProc | undefined;
  /** The second test's home and its latest server (an existing home brought to --user). */
  let oldHome = "";
  let oldServer: ServerProc | undefined;
  const baton = (args: string[], timeoutMs = 60_000) => runCli(home, args, timeoutMs);
  /** What the app must not be able to open: the token, the store, both sockets, its own logs. */
  const secrets = (): string[] => [
    serverPaths(home).token,
    serverPaths(home).store,
    serverPaths(home).socket,
    join(home, "router.sock"),
    appPaths(home, APP).logs,
    appPaths(home, APP).instanceLog("web", 1, 1),
  ];

  /** A copy of the fixture whose build and release command record who ran them, and which probes the secrets. */
  const variant = (label: string): string => {
    const dir = fixtureApp(
      join(work, label),
      label,
      { probePaths: secrets() },
      {
        baton: { build: "id -u > build.uid && id -G > build.groups" },
        scripts: { dokku: { predeploy: "id -u > predeploy.uid" } },
      },
    );
    writeFileSync(join(dir, "Procfile"), "web: node server.js\nrelease: id -u > release.uid\n");
    return dir;
  };

  const identity = async (): Promise<Identity> => {
    const reply = await http(server?.router.port ?? 0, "/identity", { headers: { host: HOST } });
    assert.equal(reply.status, 200, reply.body);
    return JSON.parse(reply.body) as Identity;
  };

  const instances = async (): Promise<InstanceJson[]> =>
    parseJson<InstanceJson[]>(await baton(["ps", "--app", APP, "--json"])).filter((i) => i.state !== "stopping");

  before(async () => {
    home = tmpHome();
    work = tmpHome();
    execFileSync(USERADD, ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]);
    user = lookupUser(name);
    note(`created user ${name}: ${JSON.stringify(user)}`);
    server = await startServer(home, await freePort(), process.env, ["--user", name]);
  });

  after(async () => {
    // The second home by hand first: stopEverything also SIGKILLs every CLI child, servers included.
    if (oldServer !== undefined) {
      const down = await runCli(oldHome, ["shutdown"], 30_000);
      if (down.code !== 0) process.stderr.write(`shutdown of ${oldHome} failed: ${down.stderr}\n`);
      killGroup(oldServer.router.pid);
    }
    await stopEverything(home, server);
    // Every process of the throwaway user is this file's; one still running is a leak: said, ended.
    const left = user === undefined ? [] : pidsOf(user.uid);
    if (left.length > 0) process.stderr.write(`processes of ${name} left running, killed: ${left.join(" ")}\n`);
    for (const pid of left) killGroup(pid);
    try {
      execFileSync(USERDEL, [name], { stdio: "pipe" });
    } catch (error) {
      // A process of the user left behind would make userdel refuse: say so, then remove it anyway.
      process.stderr.write(`userdel ${name}: ${(error as { stderr?: Buffer }).stderr}\n`);
      execFileSync(USERDEL, ["--force", name], { stdio: "pipe" });
    }
    await cleanup();
  });

  test(
    "build, release command, instances and one-offs run as the user; it cannot open baton's secrets; 0 failed requests",
    explained(async (t) => {
      const app = user as AppUser;
      assert.ok(app.uid > 0, `the test user has a uid (${app.uid})`);
      // The home is opened to the user's group for passing through only; its secrets stay root's.
      const homeInfo = statSync(home);
      assert.equal(homeInfo.mode & 0o777, 0o710);
      assert.equal(homeInfo.gid, app.gid);
      assert.equal(statSync(serverPaths(home).token).mode & 0o777, 0o600);

      const v1 = parseJson<DeployJson>(await baton(["deploy", variant("one"), "--app", APP, "--json"]));
      assert.equal(v1.status, "succeeded", JSON.stringify(v1.error));
      const release1 = appPaths(home, APP).release(1);
      assert.equal(statSync(release1).uid, app.uid, "the release directory belongs to the user");
      assert.equal(readFileSync(join(release1, "build.uid"), "utf8").trim(), String(app.uid), "the build ran as it");
      assert.equal(readFileSync(join(release1, "build.groups"), "utf8").trim(), String(app.gid), "one group only");
      assert.equal(readFileSync(join(release1, "predeploy.uid"), "utf8").trim(), String(app.uid), "and predeploy");
      assert.equal(readFileSync(join(release1, "release.uid"), "utf8").trim(), String(app.uid), "and the release");

      const checkInstances = async (version: number): Promise<void> => {
        const running = (await instances()).filter((i) => i.version === version);
        assert.ok(running.length > 0, `instances of v${version} run`);
        for (const instance of running) assert.equal(uidOf(instance.pid), app.uid, `${instance.id} runs as the user`);
        const seen = await identity();
        t.diagnostic(`v${version} instance: ${JSON.stringify(seen)}`);
        assert.equal(seen.uid, app.uid);
        assert.equal(seen.gid, app.gid);
        assert.deepEqual(seen.groups, [app.gid], "no supplementary group (root's are gone)");
        assert.equal(seen.user, name);
        // No home on disk (--no-create-home): HOME is the release directory, as Heroku's /app.
        assert.equal(seen.home, appPaths(home, APP).release(version));
        for (const secret of secrets()) assert.equal(seen.opened[secret], "EACCES", `the app cannot open ${secret}`);
      };
      await checkInstances(1);

      const load = new LoadRun({
        port: server?.router.port ?? 0,
        hostHeader: HOST,
        connections: 4,
        maxDurationMs: 120_000,
        maxRequests: 2_000_000,
        requests: [{ path: "/" }, { method: "POST", path: "/echo", body: "x".repeat(128) }],
      }).start();
      let stats: Awaited<ReturnType<LoadRun["stop"]>>;
      try {
        const v2 = parseJson<DeployJson>(await baton(["deploy", variant("two"), "--app", APP, "--json"]));
        assert.equal(v2.status, "succeeded", JSON.stringify(v2.error));
        await checkInstances(2);
        const back = parseJson<DeployJson>(await baton(["rollback", "--app", APP, "--json"]));
        assert.equal(back.status, "succeeded", JSON.stringify(back.error));
        assert.equal(back.version, 3);
      } finally {
        stats = await load.stop();
      }
      t.diagnostic(`load over the deploy of v2 and the rollback: ${stats.requests} requests, ${stats.failed} failed`);
      assert.equal(stats.failed, 0, JSON.stringify(stats.failures));
      assert.ok(stats.requests > 50, `load ran (${stats.requests} requests)`);
      // v3 is v1's code: its instances are new processes, of the user too.
      const seen = await identity();
      assert.equal(seen.uid, app.uid);
      for (const instance of await instances()) assert.equal(uidOf(instance.pid), app.uid, instance.id);

      const oneOff = await baton(["run", "--app", APP, "--", "id -u; id -G; cat VERSION"]);
      assert.equal(oneOff.code, 0, oneOff.stderr);
      assert.equal(oneOff.stdout.trim(), `${app.uid}\n${app.gid}\none`, "baton run runs as the user");
      const sneak = await baton(["run", "--app", APP, "--", "cat", serverPaths(home).token]);
      t.diagnostic(`baton run -- cat token: exit ${sneak.code}, ${sneak.stderr.trim()}`);
      assert.notEqual(sneak.code, 0, "a one-off cannot read the token");
      assert.match(sneak.stderr, /Permission denied/);
      assert.doesNotMatch(sneak.stdout, /[0-9a-f]{64}/);
    }),
  );
  test(
    "an existing home (apps deployed as root) started with --user: releases handed over, deploy and rollback as the user, 0 failed",
    explained(async (t) => {
      const app = user as AppUser;
      oldHome = tmpHome();
      const port = await freePort();
      const inOld = (args: string[], timeoutMs = 60_000) => runCli(oldHome, args, timeoutMs);
      const psOld = async (): Promise<InstanceJson[]> =>
        parseJson<InstanceJson[]>(await inOld(["ps", "--app", APP, "--json"])).filter((i) => i.state !== "stopping");
      // Before --user: the harness starts it with --allow-root-apps, so v1 is built and runs as root.
      oldServer = await startServer(oldHome, port);
      const dir = fixtureApp(join(work, "old"), "old", {}, { baton: { build: "id -u > build.uid" } });
      const v1 = parseJson<DeployJson>(await inOld(["deploy", dir, "--app", APP, "--json"]));
      assert.equal(v1.status, "succeeded", JSON.stringify(v1.error));
      const release1 = appPaths(oldHome, APP).release(1);
      assert.equal(readFileSync(join(release1, "build.uid"), "utf8").trim(), "0");
      const rootInstances = await psOld();
      for (const i of rootInstances) assert.equal(uidOf(i.pid), 0, `${i.id} runs as root before --user`);

      // The control plane restarts with --user; the router and the root instances serve on.
      oldServer.proc.kill("SIGTERM");
      await oldServer.exited;
      oldServer = await startServer(oldHome, port, process.env, ["--user", name]);
      assert.equal(statSync(release1).uid, app.uid, "the existing release was handed to the user");
      assert.equal(statSync(join(release1, "server.js")).uid, app.uid);
      assert.equal(statSync(oldHome).mode & 0o777, 0o710);
      const adopted = await psOld();
      assert.deepEqual(
        adopted.map((i) => i.pid),
        rootInstances.map((i) => i.pid),
        "the running instances were adopted, not restarted",
      );

      const load = new LoadRun({
        port: oldServer.router.port,
        hostHeader: HOST,
        connections: 4,
        maxDurationMs: 120_000,
        maxRequests: 2_000_000,
        requests: [{ path: "/" }, { method: "POST", path: "/echo", body: "x".repeat(128) }],
      }).start();
      let stats: Awaited<ReturnType<LoadRun["stop"]>>;
      try {
        const v2 = parseJson<DeployJson>(
          await inOld(["deploy", fixtureApp(join(work, "old2"), "old2"), "--app", APP, "--json"]),
        );
        assert.equal(v2.status, "succeeded", JSON.stringify(v2.error));
        for (const i of await psOld()) assert.equal(uidOf(i.pid), app.uid, `${i.id} (v2) runs as the user`);
        // Back to v1's code, built as root before --user: its new instances run as the user.
        const back = parseJson<DeployJson>(await inOld(["rollback", "--app", APP, "--json"]));
        assert.equal(back.status, "succeeded", JSON.stringify(back.error));
      } finally {
        stats = await load.stop();
      }
      t.diagnostic(
        `load over the restart with --user, a deploy and a rollback: ${stats.requests} requests, ${stats.failed} failed`,
      );
      assert.equal(stats.failed, 0, JSON.stringify(stats.failures));
      assert.ok(stats.requests > 50, `load ran (${stats.requests} requests)`);
      const now = await psOld();
      assert.ok(now.length > 0 && now.every((i) => i.version === 3));
      for (const i of now) assert.equal(uidOf(i.pid), app.uid, `${i.id} (v1's code) runs as the user`);
    }),
  );
});

describe("baton server as root: the app user is chosen explicitly", { skip }, () => {
  /** Homes a refused server was pointed at: if one was not refused after all, its router goes too. */
  const homes: string[] = [];
  after(async () => {
    for (const home of homes) {
      const health = await new RouterClient(join(home, "router.sock")).health().catch(() => undefined);
      if (health !== undefined) killGroup(health.pid);
    }
    await cleanup();
  });

  test(
    "no --user and no --allow-root-apps: refused with BATON_APPS_AS_ROOT; an unknown user: BATON_USAGE",
    explained(async () => {
      const home = join(tmpHome(), "never-made");
      homes.push(home);
      const port = String(await freePort());
      const bare = await runCli(home, ["server", "--port", port], 30_000);
      assert.equal(bare.code, 1);
      assert.match(bare.stderr, /error BATON_APPS_AS_ROOT: .*root/);
      assert.match(bare.stderr, /hint: .*--user .*--allow-root-apps/);
      assert.ok(!existsSync(home), "nothing was created for a refused start");
      const unknown = await runCli(home, ["server", "--port", port, "--user", "no-such-user-here"], 30_000);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /error BATON_USAGE: --user no-such-user-here: no such user/);
    }),
  );

  test(
    "a home the user cannot reach (a closed directory above it): refused, naming that directory",
    explained(async () => {
      const open = tmpHome();
      chmodSync(open, 0o755);
      const closed = join(open, "closed");
      mkdirSync(closed, { mode: 0o700 });
      const home = join(closed, "home");
      homes.push(home);
      const nobody = lookupUser("nobody");
      assert.ok(nobody !== undefined, "the host has the user nobody");
      const result = await runCli(home, ["server", "--port", String(await freePort()), "--user", "nobody"], 30_000);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /user nobody cannot reach the release directories/);
      assert.match(result.stderr, new RegExp(`hint: ${closed} is closed to it \\(mode 700\\)`));
      // The refusal left no server behind.
      const health = await runCli(home, ["apps"], 10_000);
      assert.notEqual(health.code, 0);
      // It started the router before the check? It must not have: nothing listens for the home.
      assert.ok(!existsSync(join(home, "router.sock")), "no router was started");
    }),
  );
});
