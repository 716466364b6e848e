// `git push` deploys, end to end: the real `baton server`, `baton apps:create`, and a real `git push`
// from a work repository to the app's bare repository, whose proc-receive hook runs
// `baton git-receive`. The app is test/fixtures/apps/web, committed in versions.
import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/core/wait.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  children,
  explained,
  killGroup,
  note,
  parseJson,
  cli as runCli,
  type ServerProc,
  startServer,
} from "./e2e-harness.js";
import { FIXTURE, type GitRun, gitEnv, type ReleaseJson, servedVersions, WorkRepo } from "./git-harness.js";
import { cleanup, tmpHome } from "./helpers.js";

const APP = "shop";
const COMMAND_TIMEOUT_MS = 20_000;

describe("git push deploys: apps:create, a real git push, the proc-receive hook and the server", () => {
  const home = tmpHome();
  const work = tmpHome();
  /** TMPDIR of the pushes: where the hook exports each commit; empty again after every push. */
  const pushTmp = tmpHome();
  const pidDir = join(work, "pids");
  const app = join(work, "shop");
  let port = 0;
  let server: ServerProc | undefined;
  let routerPid: number | undefined;
  let repo = "";

  const baton = (args: string[]) => runCli(home, args, COMMAND_TIMEOUT_MS);

  const workRepo = new WorkRepo(app, gitEnv({ TMPDIR: pushTmp }), pidDir);
  const git = (args: string[], cwd = app): Promise<GitRun> => workRepo.git(args, cwd);
  const commit = (message: string) => workRepo.commit(message);
  const writeVersion = (label: string, broken = false) => workRepo.writeVersion(label, broken);
  const served = async (): Promise<Set<string>> => new Set(await servedVersions(port, APP));
  const branchInRepo = (): Promise<string> => workRepo.branchIn(repo);

  const releases = async (): Promise<{ currentVersion: number | null; releases: ReleaseJson[] }> => {
    const result = await baton(["releases", "--app", APP, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    return parseJson(result);
  };

  const assertNoExportLeft = (): void => assert.deepEqual(readdirSync(pushTmp), [], "the hook left its export behind");

  before(async () => {
    port = await freePort();
    server = await startServer(home, port);
    routerPid = server.router.pid;
  });

  after(async () => {
    if (server !== undefined) {
      const down = await baton(["shutdown"]);
      if (down.code !== 0) note(`shutdown failed: ${down.stderr}`);
    }
    const pids = existsSync(pidDir) ? readdirSync(pidDir).map(Number) : [];
    for (const pid of pids) killGroup(pid);
    if (routerPid !== undefined) killGroup(routerPid);
    for (const child of children) child.kill("SIGKILL");
    await cleanup();
  });

  let v1 = "";
  let v2 = "";

  test(
    "apps:create makes the app and a bare repository with the hook, and prints the remote",
    explained(async () => {
      const created = await baton(["apps:create", APP, "--json"]);
      assert.equal(created.code, 0, created.stderr);
      const json = parseJson<{ app: string; remote: string; path: string }>(created);
      assert.equal(json.app, APP);
      assert.equal(json.path, join(home, "apps", APP, "repo.git"));
      assert.match(json.remote, new RegExp(`^ssh://[^@]+@[^/]+${json.path.replace(/[.]/g, "\\.")}$`));
      repo = json.path;
      const hook = join(repo, "hooks", "proc-receive");
      assert.ok(statSync(hook).mode & 0o100, "the hook is executable");
      assert.match(
        readFileSync(hook, "utf8"),
        /^#!\/bin\/sh\n[\s\S]*exec '.+' '.+main\.js' git-receive --proc --home '.+' --app 'shop'\n$/,
      );
      const procRefs = await git(["--git-dir", repo, "config", "--get-all", "receive.procReceiveRefs"], repo);
      assert.deepEqual(procRefs.output.trim().split("\n"), ["refs/heads/main", "refs/heads/master"]);

      const apps = parseJson<Array<{ name: string; domains: string[]; isDefault: boolean; currentVersion: null }>>(
        await baton(["apps", "--json"]),
      );
      assert.deepEqual(
        apps.map((a) => [a.name, a.domains, a.isDefault, a.currentVersion]),
        [[APP, [`${APP}.localhost`], true, null]],
      );

      const again = await baton(["apps:create", APP]);
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /app "shop" already exists/);
      const bad = await baton(["apps:create", "Not_A_Name"]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /lowercase letters/);

      const text = await baton(["apps:create", APP, "--repo-only"]);
      assert.equal(text.code, 0, text.stderr);
      assert.ok(text.stdout.includes(`git remote add baton ${repo}`), text.stdout);
      assert.ok(text.stdout.includes("git remote add baton ssh://"), text.stdout);
    }),
  );

  test(
    "a push of main deploys that commit, streams every step to git, and the release records it",
    explained(async () => {
      cpSync(FIXTURE, app, { recursive: true });
      writeVersion("v1");
      assert.equal((await git(["init", "-q", "-b", "main"])).code, 0);
      await git(["config", "user.name", "Push Tester"]);
      await git(["config", "user.email", "push@example.test"]);
      v1 = await commit("First push\n\nThe body is not part of the release's source.");

      const push = await git(["push", repo, "main"]);
      assert.equal(push.code, 0, push.output);
      for (const step of ["stage", "boot", "switch", "drain"])
        assert.match(push.output, new RegExp(`remote: -----> ${step}`), `no ${step} step in the push output`);
      assert.match(push.output, /remote: baton: [0-9a-f]{7} is live; push accepted/);
      assert.deepEqual([...(await served())], ["v1"]);
      assert.equal(await branchInRepo(), v1);
      assertNoExportLeft();

      const list = await releases();
      const live = list.releases.find((r) => r.current);
      assert.ok(live !== undefined);
      assert.equal(live.status, "ready");
      assert.equal(live.source, `git main@${v1.slice(0, 7)}: First push`);
      assert.equal(live.commit?.sha, v1);
      assert.equal(live.commit?.message, "First push");
      assert.equal(live.commit?.branch, "main");
      assert.ok(live.commit?.pushedBy, "who pushed is recorded");

      const table = await baton(["releases", "--app", APP]);
      assert.ok(table.stdout.includes(`git main@${v1.slice(0, 7)}: First push`), table.stdout);
    }),
  );

  test(
    "a second commit deploys v2; the live commit again (or another branch) deploys nothing",
    explained(async () => {
      writeVersion("v2");
      v2 = await commit("Second version");
      const push = await git(["push", repo, "main"]);
      assert.equal(push.code, 0, push.output);
      assert.deepEqual([...(await served())], ["v2"]);
      const before = await releases();
      assert.equal(before.releases.find((r) => r.current)?.commit?.sha, v2);
      assert.equal(before.releases.length, 2);

      // git itself sends nothing when the branch already names the commit ...
      const same = await git(["push", repo, "main"]);
      assert.equal(same.code, 0, same.output);
      // ... and the hook deploys nothing when the live commit arrives on the other deployed branch.
      const master = await git(["push", repo, "main:master"]);
      assert.equal(master.code, 0, master.output);
      assert.match(master.output, /remote: baton: shop v\d+ already runs [0-9a-f]{7}; nothing to deploy/);
      // Other branches are plain git: stored, never deployed.
      const feature = await git(["push", repo, "main:feature"]);
      assert.equal(feature.code, 0, feature.output);
      assert.doesNotMatch(feature.output, /-----> deploying/);

      const after = await releases();
      assert.equal(after.releases.length, 2, "no new release");
      assert.equal(after.currentVersion, before.currentVersion);
      assert.deepEqual([...(await served())], ["v2"]);
      assertNoExportLeft();
    }),
  );

  test(
    "a commit whose deploy fails is rejected: git push fails, the old release serves, the branch stays",
    explained(async () => {
      writeVersion("v3", true);
      const broken = await commit("Never ready");
      const push = await git(["push", repo, "main"]);
      assert.notEqual(push.code, 0, push.output);
      assert.match(push.output, /remote: .*BATON_BOOT_TIMEOUT/);
      assert.match(push.output, /remote: baton: push rejected; shop keeps serving v2/);
      assert.match(push.output, /\[remote rejected\] main -> main \(not deployed/);
      assert.deepEqual([...(await served())], ["v2"]);
      assert.equal(await branchInRepo(), v2, "the rejected commit is not on the branch");
      const list = await releases();
      const failed = list.releases.find((r) => r.commit?.sha === broken);
      assert.equal(failed?.status, "failed");
      assert.equal(list.releases.find((r) => r.current)?.commit?.sha, v2);
      assertNoExportLeft();
    }),
  );

  test(
    "three pushes during one deploy run as one deploy of the newest commit; the branch ends on it",
    explained(async () => {
      const deploysNow = async () =>
        parseJson<Array<{ id: number; status: string }>>(await baton(["deploys", "--app", APP, "--json"]));
      const before = (await deploysNow()).length;
      // The first push boots slowly, so the next three arrive while it deploys.
      workRepo.writeVersion("v5", false, 3_000);
      await commit("Slow to boot");
      const first = git(["push", repo, "main"]);
      await waitFor(
        "the first push's deploy",
        async () => ((await deploysNow()).some((d) => d.status === "running") ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const later: Array<Promise<GitRun>> = [];
      let newest = "";
      for (const label of ["v6", "v7", "v8"]) {
        writeVersion(label);
        newest = await commit(`Pushed during the deploy: ${label}`);
        const waiting = (await deploysNow()).filter((d) => d.status === "queued").length;
        later.push(git(["push", repo, "main"]));
        // One at a time into the queue, so "the newest" is well defined.
        await waitFor(
          `the ${label} push in the queue`,
          async () => ((await deploysNow()).filter((d) => d.status === "queued").length > waiting ? true : undefined),
          { timeoutMs: 30_000, intervalMs: 100 },
        );
      }
      const results = await Promise.all([first, ...later]);
      assert.equal(results[0]?.code, 0, results[0]?.output);
      assert.equal(results[3]?.code, 0, `the newest push is accepted: ${results[3]?.output}`);
      for (const superseded of [results[1], results[2]]) {
        assert.notEqual(superseded?.code, 0, "a superseded push is rejected");
        assert.match(superseded?.output ?? "", /superseded/);
      }
      const statuses = (await deploysNow()).slice(0, (await deploysNow()).length - before).map((d) => d.status);
      assert.deepEqual(statuses, ["succeeded", "superseded", "superseded", "succeeded"], "two deploys ran, not four");
      assert.deepEqual([...(await served())], ["v8"]);
      assert.equal(await branchInRepo(), newest, "the branch is on the commit that is live");
      assertNoExportLeft();
    }),
  );

  test(
    "a push while the server is down fails with the server-unreachable message",
    explained(async () => {
      const down = await baton(["shutdown"]);
      assert.equal(down.code, 0, down.stderr);
      await server?.exited;
      server = undefined;
      const live = await branchInRepo();
      writeVersion("v9");
      await commit("While the server is down");
      const push = await git(["push", repo, "main"]);
      assert.notEqual(push.code, 0, push.output);
      assert.match(push.output, /remote: error BATON_SERVER_UNREACHABLE/);
      assert.match(push.output, /\[remote rejected\] main -> main/);
      assert.equal(await branchInRepo(), live, "the branch stays on the live commit");
      assertNoExportLeft();
    }),
  );
});
