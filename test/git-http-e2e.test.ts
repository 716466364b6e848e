// `git push` over HTTP deploys, end to end: the real `baton server --git-port`, `baton apps:create`,
// and a real git client pushing to http://baton:TOKEN@127.0.0.1:PORT/shop.git. The server runs
// `git receive-pack`, whose proc-receive hook runs `baton git-receive` as for a push over SSH. The
// app is test/fixtures/apps/web, committed in versions.
import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
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
import { cleanup, http, tmpHome } from "./helpers.js";

const APP = "shop";
const COMMAND_TIMEOUT_MS = 20_000;

describe("git push over HTTP: baton server --git-port, the token as the password, push only", () => {
  const home = tmpHome();
  const work = tmpHome();
  /** The server's TMPDIR, so where the hook exports each commit: empty again after every push. */
  const pushTmp = tmpHome();
  const pidDir = join(work, "pids");
  const app = join(work, "shop");
  let port = 0;
  let gitPort = 0;
  let token = "";
  let server: ServerProc | undefined;
  let routerPid: number | undefined;
  let repo = "";

  const baton = (args: string[]) => runCli(home, args, COMMAND_TIMEOUT_MS);
  const remote = (password = token, name = APP) => `http://baton:${password}@127.0.0.1:${gitPort}/${name}.git`;

  const workRepo = new WorkRepo(app, gitEnv(), pidDir, () => [token]);
  const git = (args: string[], cwd = app, onOutput?: (output: string, pid: number) => void): Promise<GitRun> =>
    workRepo.git(args, cwd, onOutput);
  const commit = (message: string) => workRepo.commit(message);
  const writeVersion = (label: string, broken = false, bootDelayMs = 0) =>
    workRepo.writeVersion(label, broken, bootDelayMs);

  const releases = async (): Promise<ReleaseJson[]> => {
    const result = await baton(["releases", "--app", APP, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    return parseJson<{ releases: ReleaseJson[] }>(result).releases;
  };

  const served = (): Promise<string[]> => servedVersions(port, APP);
  const branchInRepo = (): Promise<string> => workRepo.branchIn(repo);

  /** The `git receive-pack` processes the server runs for the app's repository, by /proc. */
  const receivePacks = (): number[] =>
    readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
          return argv.includes("receive-pack") && argv.includes("--stateless-rpc") && argv.includes(repo);
        } catch {
          return false;
        }
      })
      .map(Number);

  const basic = (password: string) => `Basic ${Buffer.from(`baton:${password}`).toString("base64")}`;

  before(async () => {
    port = await freePort();
    gitPort = await freePort();
    server = await startServer(home, port, { ...process.env, TMPDIR: pushTmp }, ["--git-port", String(gitPort)]);
    routerPid = server.router.pid;
    token = readFileSync(join(home, "token"), "utf8").trim();
  });

  after(async () => {
    if (server !== undefined) {
      const down = await baton(["shutdown"]);
      if (down.code !== 0) note(`shutdown failed: ${down.stderr}`);
      await server.exited;
    }
    const pids = existsSync(pidDir) ? readdirSync(pidDir).map(Number) : [];
    for (const pid of pids) killGroup(pid);
    if (routerPid !== undefined) killGroup(routerPid);
    for (const child of children) if (child.pid !== undefined) killGroup(child.pid);
    if (repo !== "") for (const pid of receivePacks()) killGroup(pid);
    await cleanup();
  });

  let v1 = "";
  let v2 = "";

  test(
    "apps:create prints the HTTP remote, without the token",
    explained(async () => {
      const created = await baton(["apps:create", APP, "--json"]);
      assert.equal(created.code, 0, created.stderr);
      const json = parseJson<{ path: string; httpRemote: string | null }>(created);
      repo = json.path;
      assert.equal(json.httpRemote, `http://baton@127.0.0.1:${gitPort}/${APP}.git`);

      const text = await baton(["apps:create", APP, "--repo-only"]);
      assert.equal(text.code, 0, text.stderr);
      assert.ok(text.stdout.includes(`git remote add baton http://baton@127.0.0.1:${gitPort}/${APP}.git`), text.stdout);
      assert.ok(text.stdout.includes(`cat ${join(home, "token")}`), text.stdout);
      assert.ok(!text.stdout.includes(token), "apps:create never prints the token");
    }),
  );

  test(
    "a missing or wrong token is refused (401, Basic realm) and deploys nothing; an unknown app is named",
    explained(async () => {
      cpSync(FIXTURE, app, { recursive: true });
      writeVersion("v1");
      assert.equal((await git(["init", "-q", "-b", "main"])).code, 0);
      await git(["config", "user.name", "Push Tester"]);
      await git(["config", "user.email", "push@example.test"]);
      v1 = await commit("First push over http");

      const path = `/${APP}.git/info/refs?service=git-receive-pack`;
      const attempts: Record<string, string>[] = [
        {},
        { authorization: basic("wrong") },
        { authorization: `Bearer ${token}` },
      ];
      for (const headers of attempts) {
        const reply = await http(gitPort, path, { headers });
        assert.equal(reply.status, 401, JSON.stringify(headers));
        assert.equal(reply.headers["www-authenticate"], 'Basic realm="baton"');
      }

      const wrong = await git(["push", remote("not-the-token"), "main"]);
      assert.notEqual(wrong.code, 0, wrong.output);
      assert.match(wrong.output, /Authentication failed/);
      const anonymous = await git(["push", `http://127.0.0.1:${gitPort}/${APP}.git`, "main"]);
      assert.notEqual(anonymous.code, 0, anonymous.output);
      assert.doesNotMatch(`${wrong.output}${anonymous.output}`, /remote: -----> /);
      assert.deepEqual(await releases(), [], "nothing was deployed");
      assert.equal((await http(port, "/", { headers: { host: `${APP}.localhost` } })).status, 404);

      const unknown = await git(["push", remote(token, "nope"), "main"]);
      assert.notEqual(unknown.code, 0, unknown.output);
      assert.match(unknown.output, /remote: baton: no app "nope": create it with baton apps:create nope/);
      assert.equal((await http(gitPort, "/elsewhere", { headers: { authorization: basic(token) } })).status, 404);
    }),
  );

  test(
    "a push with the token deploys that commit and streams every step to git",
    explained(async () => {
      const push = await git(["push", remote(), "main"]);
      assert.equal(push.code, 0, push.output);
      for (const step of ["stage", "boot", "switch", "drain"])
        assert.match(push.output, new RegExp(`remote: -----> ${step}`), `no ${step} step in the push output`);
      assert.match(push.output, /remote: baton: [0-9a-f]{7} is live; push accepted/);
      assert.deepEqual(await served(), ["v1"]);
      assert.equal(await branchInRepo(), v1);
      const live = (await releases()).find((r) => r.current);
      assert.equal(live?.commit?.sha, v1);
      assert.equal(live?.commit?.pushedBy, "baton (http)");
      assert.deepEqual(readdirSync(pushTmp), [], "the hook left its export behind");
    }),
  );

  test(
    "the steps reach git live: when the boot line arrives, the old release still serves",
    explained(async () => {
      writeVersion("v2");
      v2 = await commit("Second version");
      let whileDeploying: Promise<string[]> | undefined;
      const push = await git(["push", remote(), "main"], app, (output) => {
        if (whileDeploying === undefined && /remote: -----> boot/.test(output)) whileDeploying = served();
      });
      assert.equal(push.code, 0, push.output);
      assert.ok(whileDeploying !== undefined, "the boot line arrived");
      assert.deepEqual(await whileDeploying, ["v1"], "the boot line came while v1 still served, not at the end");
      assert.deepEqual(await served(), ["v2"]);
      assert.equal(await branchInRepo(), v2);

      // git sends small pushes plain; a gzipped body (as larger clients send) is read the same way.
      const gzipped = await http(gitPort, `/${APP}.git/git-receive-pack`, {
        method: "POST",
        headers: {
          authorization: basic(token),
          "content-type": "application/x-git-receive-pack-request",
          "content-encoding": "gzip",
        },
        body: gzipSync("0000"),
      });
      assert.equal(gzipped.status, 200, gzipped.body);
      assert.equal(gzipped.headers["content-type"], "application/x-git-receive-pack-result");
      // A body that is not the gzip it claims to be fails that request only.
      const garbled = await http(gitPort, `/${APP}.git/git-receive-pack`, {
        method: "POST",
        headers: { authorization: basic(token), "content-encoding": "gzip" },
        body: Buffer.from("0000 is not gzip"),
      }).catch((error: Error) => error);
      assert.ok(garbled instanceof Error || garbled.status !== 200, JSON.stringify(garbled));
      assert.equal((await http(gitPort, `/${APP}.git/info/refs?service=git-upload-pack`)).status, 403);
    }),
  );

  test(
    "a commit whose deploy fails is rejected: git push fails, the old release serves, the branch stays",
    explained(async () => {
      writeVersion("v3", true);
      await commit("Never ready");
      const push = await git(["push", remote(), "main"]);
      assert.notEqual(push.code, 0, push.output);
      assert.match(push.output, /remote: .*BATON_BOOT_TIMEOUT/);
      assert.match(push.output, /remote: baton: push rejected; shop keeps serving v2/);
      assert.match(push.output, /\[remote rejected\] main -> main \(not deployed/);
      assert.deepEqual(await served(), ["v2"]);
      assert.equal(await branchInRepo(), v2);
      assert.deepEqual(readdirSync(pushTmp), [], "the hook left its export behind");
    }),
  );

  test(
    "clone and fetch are refused with a message: baton is not a git host",
    explained(async () => {
      const clone = await git(["clone", remote(), join(work, "clone")], work);
      assert.notEqual(clone.code, 0, clone.output);
      assert.match(clone.output, /remote: baton is not a git host/);
      assert.ok(!existsSync(join(work, "clone", "Procfile")), "nothing was cloned");
      const fetch = await git(["fetch", remote(), "main"]);
      assert.notEqual(fetch.code, 0, fetch.output);
      assert.match(fetch.output, /remote: baton is not a git host/);
      // No token needed to be told no: git does not ask for a password first.
      const reply = await http(gitPort, `/${APP}.git/info/refs?service=git-upload-pack`);
      assert.equal(reply.status, 403);
      assert.match(reply.body, /baton is not a git host/);
    }),
  );

  test(
    "a client that goes away mid-push takes its git process with it; the deploy goes on, the export goes",
    explained(async () => {
      // Slow to boot: the deploy is still at boot when git is gone, so the server killed it.
      writeVersion("v4", false, 3000);
      await commit("Pushed, then Ctrl-C");
      let killed = false;
      const push = await git(["push", remote(), "main"], app, (output, pid) => {
        if (!killed && /remote: -----> boot/.test(output)) {
          killed = true;
          killGroup(pid);
        }
      });
      assert.ok(killed, push.output);
      await waitFor("the server to kill git receive-pack", () => (receivePacks().length === 0 ? true : undefined), {
        timeoutMs: 15_000,
        intervalMs: 100,
      });
      assert.deepEqual(await served(), ["v2"], "git receive-pack was gone before the deploy could have ended");
      await waitFor(
        "v4 to serve and the hook to remove its export",
        async () => ((await served()).join() === "v4" && readdirSync(pushTmp).length === 0 ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 250 },
      );
    }),
  );
});
