// The control plane in this process against a real router process and real instance processes:
// the deploy queue, config releases, non-web process types, clean-up, crash restarts and git refs.
// (test/deploy-e2e.test.ts drives the same through the CLI and `baton server` under load.)
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createLogger } from "../src/core/log.js";
import { waitFor } from "../src/core/wait.js";
import { ControlPlane } from "../src/deploy/control-plane.js";
import { routerDriver } from "../src/deploy/traffic.js";
import { SqliteStore } from "../src/store/sqlite.js";
import type { DeployRecord } from "../src/store/store.js";
import { cleanup, http, type RouterProc, startRouter, tmpHome } from "./helpers.js";

const SERVER_JS = `
const { createServer } = require("node:http");
const server = createServer((req, res) => {
  if (req.url === "/env") {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ release: process.env.BATON_RELEASE, foo: process.env.FOO ?? null, pid: process.pid }));
  } else if (req.url === "/crash") {
    res.end("bye");
    setTimeout(() => process.exit(3), 10);
  } else res.end("ok " + process.env.BATON_RELEASE);
});
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => { server.close(() => process.exit(0)); server.closeIdleConnections(); });
`;

/** A process type that only records when it starts and stops, to see overlaps. */
const JOURNAL_JS = `
const { appendFileSync } = require("node:fs");
const file = process.env.JOURNAL;
appendFileSync(file, "start " + process.env.DYNO + " " + process.env.BATON_RELEASE + "\\n");
setInterval(() => {}, 1000);
process.on("SIGTERM", () => { appendFileSync(file, "stop " + process.env.DYNO + " " + process.env.BATON_RELEASE + "\\n"); process.exit(0); });
`;

function writeApp(dir: string, files: { procfile?: string; appJson?: unknown }): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "server.js"), SERVER_JS);
  writeFileSync(join(dir, "journal.js"), JOURNAL_JS);
  writeFileSync(join(dir, "Procfile"), files.procfile ?? "web: node server.js\n");
  const appJson = (files.appJson ?? { healthchecks: { web: [{ type: "startup", path: "/env" }] } }) as {
    baton?: Record<string, unknown>;
  };
  // These tests are about the pipeline's other steps; the bake has its own (strategies-e2e).
  if (typeof appJson === "object" && appJson !== null && !Array.isArray(appJson))
    appJson.baton = { bakeMs: 0, ...appJson.baton };
  writeFileSync(join(dir, "app.json"), JSON.stringify(appJson));
  return dir;
}

describe("control plane", () => {
  let home: string;
  let router: RouterProc;
  let store: SqliteStore;
  let plane: ControlPlane;
  const deploy = async (
    app: string,
    kind: "deploy" | "rollback" | "config",
    request: Record<string, unknown>,
  ): Promise<DeployRecord> => plane.whenFinished(plane.enqueue(app, kind, request).id);
  const get = async (app: string, path: string) =>
    JSON.parse((await http(router.port, path, { headers: { host: `${app}.localhost` } })).body) as Record<
      string,
      unknown
    >;

  before(async () => {
    home = tmpHome();
    router = await startRouter({ home });
    store = SqliteStore.open(join(home, "baton.db"));
    plane = new ControlPlane({
      store,
      traffic: routerDriver(router.client),
      home,
      log: createLogger("test", "silent"),
    });
    await plane.start();
  });

  after(async () => {
    await plane.stopAll();
    store.close();
    await cleanup();
  });

  test("deploys that wait behind a running one: only the newest runs, the others are superseded", async () => {
    const dir = writeApp(join(home, "src-queue"), {});
    const first = plane.enqueue("queue", "deploy", { source: { dir } });
    const second = plane.enqueue("queue", "deploy", { source: { dir } });
    const third = plane.enqueue("queue", "deploy", { source: { dir } });
    const results = await Promise.all([first, second, third].map((d) => plane.whenFinished(d.id)));
    assert.deepEqual(
      results.map((d) => d.status),
      ["succeeded", "superseded", "succeeded"],
    );
    assert.equal(results[1]?.details.supersededBy, third.id);
    assert.equal(store.getApp("queue")?.currentVersion, results[2]?.version);
    assert.equal((await get("queue", "/env")).release, `v${results[2]?.version}`);
  });

  test("config:set makes a new release with the var, deployed the same way; its value stays out of the history", async () => {
    const dir = writeApp(join(home, "src-config"), {});
    assert.equal((await deploy("config", "deploy", { source: { dir } })).status, "succeeded");
    assert.equal((await get("config", "/env")).foo, null);
    const changed = await deploy("config", "config", { set: { FOO: "s3cret-value" }, unset: [] });
    assert.equal(changed.status, "succeeded", JSON.stringify(changed.error));
    assert.equal((await get("config", "/env")).foo, "s3cret-value");
    const release = store.getRelease("config", changed.version ?? 0);
    assert.equal(release?.source, "config:set FOO");
    const history = JSON.stringify([store.listSteps(changed.id), store.listEvents({ deployId: changed.id })]);
    assert.ok(!history.includes("s3cret-value"), "a config value appeared in the deploy history");
    const unset = await deploy("config", "config", { set: {}, unset: ["FOO"] });
    assert.equal(unset.status, "succeeded");
    assert.equal((await get("config", "/env")).foo, null);
  });

  test("other process types are replaced; a singleton never runs twice at once", async () => {
    const journal = join(home, "journal.txt");
    const dir = writeApp(join(home, "src-procs"), {
      procfile: "web: node server.js\nworker: node journal.js\nclock: node journal.js\n",
      appJson: {
        formation: { web: { quantity: 1 }, worker: { quantity: 2 }, clock: { quantity: 1 } },
        healthchecks: { web: [{ type: "startup", path: "/env" }] },
        baton: { singleton: ["clock"] },
      },
    });
    assert.equal((await deploy("procs", "deploy", { source: { dir } })).status, "succeeded");
    // The journal path reaches the processes as a config var (a new release, deployed).
    const configured = await deploy("procs", "config", { set: { JOURNAL: journal }, unset: [] });
    assert.equal(configured.status, "succeeded");
    const journalLines = () => readFileSync(journal, "utf8").trim().split("\n");
    // Non-web processes have no readiness check: wait for them to have written their start.
    await waitFor("the workers and the clock to start", () => (journalLines().length >= 3 ? true : undefined), {
      timeoutMs: 10_000,
    });
    const seen = journalLines().length;
    const next = await deploy("procs", "deploy", { source: { dir } });
    assert.equal(next.status, "succeeded", JSON.stringify(next.error));
    const v = `v${next.version}`;
    const running = plane.ps("procs");
    assert.deepEqual(running.map((i) => `${i.type}.${i.index} v${i.version}`).sort(), [
      `clock.1 ${v}`,
      `web.1 ${v}`,
      `worker.1 ${v}`,
      `worker.2 ${v}`,
    ]);
    await waitFor("the new processes to start", () => (journalLines().length >= seen + 6 ? true : undefined), {
      timeoutMs: 10_000,
    });
    const lines = journalLines().slice(seen);
    const clock = lines.filter((l) => l.includes("clock.1"));
    assert.equal(clock.length, 2, lines.join("\n"));
    assert.match(
      clock[0] ?? "",
      /^stop clock\.1 v/,
      `the old clock must stop before the new one starts:\n${lines.join("\n")}`,
    );
    assert.equal(clock[1], `start clock.1 ${v}`);
    assert.deepEqual(lines.filter((l) => l.startsWith("stop worker")).length, 2, lines.join("\n"));
  });

  test("clean-up keeps the newest N release directories, never the current or previous one", async () => {
    const dir = writeApp(join(home, "src-keep"), {
      appJson: { healthchecks: { web: [{ type: "startup", path: "/env" }] }, baton: { keepReleases: 2 } },
    });
    const versions: number[] = [];
    for (let i = 0; i < 4; i++) versions.push((await deploy("keep", "deploy", { source: { dir } })).version ?? 0);
    const releases = store.listReleases("keep");
    const onDisk = releases.filter((r) => existsSync(r.path)).map((r) => r.version);
    assert.deepEqual(onDisk.sort(), versions.slice(-2).sort());
    assert.deepEqual(
      releases
        .filter((r) => r.pruned)
        .map((r) => r.version)
        .sort(),
      versions.slice(0, 2).sort(),
    );
    const refused = await deploy("keep", "rollback", { version: versions[0] });
    assert.equal(refused.status, "failed");
    assert.match(refused.error?.message ?? "", /cleaned up/);
    const back = await deploy("keep", "rollback", {});
    assert.equal(back.status, "succeeded", JSON.stringify(back.error));
    assert.equal((await get("keep", "/env")).release, `v${back.version}`);
  });

  test("a live instance that crashes is restarted on its port and counted", async () => {
    const dir = writeApp(join(home, "src-crash"), {
      appJson: { formation: { web: { quantity: 1 } }, healthchecks: { web: [{ type: "startup", path: "/env" }] } },
    });
    assert.equal((await deploy("crash", "deploy", { source: { dir } })).status, "succeeded");
    const [before] = plane.ps("crash");
    await http(router.port, "/crash", { headers: { host: "crash.localhost" } });
    const restarted = await waitFor(
      "the crashed instance to be restarted",
      () => {
        const [now] = plane.ps("crash");
        return now !== undefined && now.restarts === 1 && now.state === "running" ? now : undefined;
      },
      { timeoutMs: 10_000 },
    );
    assert.notEqual(restarted.pid, before?.pid);
    assert.equal(restarted.port, before?.port);
    const env = await waitFor(
      "the restarted instance to serve",
      async () => ((await get("crash", "/env")).pid === restarted.pid ? true : undefined),
      { timeoutMs: 10_000 },
    );
    assert.ok(env);
    assert.ok(store.listEvents({ app: "crash" }).some((e) => e.kind === "instance.crashed"));
  });

  test("a git ref deploys exactly the committed tree and records the commit", async () => {
    const dir = writeApp(join(home, "src-git"), {});
    const git = (...args: string[]) => execFileSync("git", ["-C", dir, ...args], { encoding: "utf8" });
    git("init", "-q", "-b", "main");
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".");
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "first");
    writeFileSync(join(dir, "untracked.txt"), "not committed");
    const done = await deploy("gitapp", "deploy", { source: { dir, ref: "main" } });
    assert.equal(done.status, "succeeded", JSON.stringify(done.error));
    const release = store.getRelease("gitapp", done.version ?? 0);
    assert.match(release?.source ?? "", /^git main@[0-9a-f]{7}$/);
    assert.ok(existsSync(join(release?.path ?? "", "server.js")));
    assert.ok(!existsSync(join(release?.path ?? "", "untracked.txt")));
  });

  test("predeploy runs before the release phase, postdeploy after the old instances stopped; a failed postdeploy keeps the release live", async () => {
    const journal = join(home, "hooks.txt");
    writeFileSync(journal, "");
    const appJson = (post: string) => ({
      healthchecks: { web: [{ type: "startup", path: "/env" }] },
      scripts: { dokku: { predeploy: `echo predeploy >> ${journal}`, postdeploy: post } },
    });
    const dir = writeApp(join(home, "src-hooks"), {
      procfile: `web: node server.js\nrelease: echo release >> ${journal}\n`,
      appJson: appJson(`echo postdeploy >> ${journal}`),
    });
    assert.equal((await deploy("hooks", "deploy", { source: { dir } })).status, "succeeded");
    assert.deepEqual(readFileSync(journal, "utf8").trim().split("\n"), ["predeploy", "release", "postdeploy"]);
    const oldPid = plane.ps("hooks")[0]?.pid ?? 0;
    // The contract step must not run while an old instance could still use what it removes.
    writeApp(dir, {
      procfile: "web: node server.js\n",
      appJson: appJson(
        `kill -0 ${oldPid} 2>/dev/null && echo old-still-running >> ${journal}; echo contract >> ${journal}`,
      ),
    });
    assert.equal((await deploy("hooks", "deploy", { source: { dir } })).status, "succeeded");
    assert.ok(readFileSync(journal, "utf8").trim().endsWith("predeploy\ncontract"), readFileSync(journal, "utf8"));
    writeApp(dir, { procfile: "web: node server.js\n", appJson: appJson("exit 9") });
    const failedHook = await deploy("hooks", "deploy", { source: { dir } });
    assert.equal(failedHook.status, "succeeded");
    assert.equal(failedHook.error?.code, "BATON_HOOK_FAILED");
    assert.equal(store.getApp("hooks")?.currentVersion, failedHook.version);
    assert.equal((await get("hooks", "/env")).release, `v${failedHook.version}`);
  });

  test("app.json env seeds the config vars on the first deploy only (values and generated secrets)", async () => {
    const appJson = {
      healthchecks: { web: [{ type: "startup", path: "/env" }] },
      env: { FOO: { value: "from-app-json" }, SECRET_KEY: { generator: "secret" }, ASK_ME: { required: true } },
    };
    const dir = writeApp(join(home, "src-env"), { appJson });
    assert.equal((await deploy("envapp", "deploy", { source: { dir } })).status, "succeeded");
    const vars = store.getApp("envapp")?.configVars ?? {};
    assert.equal(vars.FOO, "from-app-json");
    assert.match(vars.SECRET_KEY ?? "", /^[0-9a-f]{64}$/);
    assert.ok(!("ASK_ME" in vars));
    assert.equal((await get("envapp", "/env")).foo, "from-app-json");
    assert.equal((await deploy("envapp", "config", { set: { FOO: "operator" }, unset: [] })).status, "succeeded");
    assert.equal((await deploy("envapp", "deploy", { source: { dir } })).status, "succeeded");
    assert.equal((await get("envapp", "/env")).foo, "operator", "a later deploy must not override what config:set set");
  });

  test("new migrations are linted before the release phase: an unsafe one stops the deploy before any SQL runs", async () => {
    const journal = join(home, "migrations-ran.txt");
    writeFileSync(journal, "");
    const dir = writeApp(join(home, "src-migrations"), {
      procfile: `web: node server.js\nrelease: ls migrations >> ${journal}\n`,
      appJson: {
        healthchecks: { web: [{ type: "startup", path: "/env" }] },
        baton: { migrations: { dir: "migrations" } },
      },
    });
    mkdirSync(join(dir, "migrations"));
    writeFileSync(join(dir, "migrations", "001_items.sql"), "CREATE TABLE items (id bigint PRIMARY KEY, note text);\n");
    const v1 = await deploy("migr", "deploy", { source: { dir } });
    assert.equal(v1.status, "succeeded", JSON.stringify(v1.error));
    writeFileSync(journal, "");
    // Already applied (unchanged) files are history, not findings: adding a safe one passes.
    writeFileSync(join(dir, "migrations", "002_add.sql"), "ALTER TABLE items ADD COLUMN price numeric;\n");
    assert.equal((await deploy("migr", "deploy", { source: { dir } })).status, "succeeded");
    writeFileSync(journal, "");
    writeFileSync(join(dir, "migrations", "003_drop.sql"), "ALTER TABLE items DROP COLUMN note;\n");
    const refused = await deploy("migr", "deploy", { source: { dir } });
    assert.equal(refused.status, "failed");
    assert.equal(refused.error?.code, "BATON_MIGRATION_UNSAFE");
    assert.match(refused.error?.message ?? "", /003_drop\.sql:1: drop-column/);
    assert.equal(readFileSync(journal, "utf8"), "", "the release phase must not run");
    const lint = store.listSteps(refused.id).find((s) => s.name === "lint");
    assert.equal(lint?.status, "failed");
    assert.match(lint?.output ?? "", /instead:/);
    assert.equal((await get("migr", "/env")).release, `v${(v1.version ?? 0) + 1}`);
  });

  test("config vars set before the first deploy wait for it (no release, no deploy)", async () => {
    const vars = plane.setConfigBeforeFirstDeploy("early", { FOO: "before-first-deploy" }, []);
    assert.deepEqual(vars, { FOO: "before-first-deploy" });
    assert.equal(store.listDeploys({ app: "early" }).length, 0);
    const dir = writeApp(join(home, "src-early"), {});
    assert.equal((await deploy("early", "deploy", { source: { dir } })).status, "succeeded");
    assert.equal((await get("early", "/env")).foo, "before-first-deploy");
  });

  test("an invalid app.json fails the stage step with every problem, and nothing changes", async () => {
    const dir = writeApp(join(home, "src-bad"), {});
    assert.equal((await deploy("bad", "deploy", { source: { dir } })).status, "succeeded");
    const live = plane.ps("bad").map((i) => i.pid);
    writeFileSync(
      join(dir, "app.json"),
      JSON.stringify({ formation: { web: { quantity: "two" } }, baton: { bootTimeoutMS: 5 } }),
    );
    const failed = await deploy("bad", "deploy", { source: { dir } });
    assert.equal(failed.status, "failed");
    assert.equal(failed.error?.code, "BATON_CONFIG_INVALID");
    assert.match(failed.error?.message ?? "", /formation\.web\.quantity/);
    assert.match(failed.error?.message ?? "", /bootTimeoutMS/);
    assert.deepEqual(
      plane.ps("bad").map((i) => i.pid),
      live,
    );
  });
  test("build cache: the same package.json and lockfile link the previous release's node_modules instead of installing", async () => {
    const dir = writeApp(join(home, "src-cache"), {});
    const writePackage = (version: string, scripts: Record<string, string> = {}) => {
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "cached", version, private: true, scripts }));
      writeFileSync(
        join(dir, "package-lock.json"),
        JSON.stringify({
          name: "cached",
          version,
          lockfileVersion: 3,
          requires: true,
          packages: { "": { name: "cached", version } },
        }),
      );
    };
    const build = (d: DeployRecord) => {
      const step = store.listSteps(d.id).find((x) => x.name === "build");
      assert.equal(step?.status, "succeeded", JSON.stringify(step));
      return step as NonNullable<typeof step> & {
        details: { command: string; dependencies?: { key?: string; reusedFrom?: number; uncachable?: string } };
      };
    };
    writePackage("1.0.0");
    const first = await deploy("cache", "deploy", { source: { dir } });
    assert.equal(first.status, "succeeded");
    const firstBuild = build(first);
    assert.equal(firstBuild.details.command, "npm ci");
    assert.match(firstBuild.details.dependencies?.key ?? "", /^[0-9a-f]{64}$/);
    assert.equal(firstBuild.details.dependencies?.reusedFrom, undefined);
    // What an install would have left there, and a build tool's cache that must not be shared.
    const v1 = store.getRelease("cache", first.version as number)?.path as string;
    mkdirSync(join(v1, "node_modules/dep"), { recursive: true });
    mkdirSync(join(v1, "node_modules/.cache"), { recursive: true });
    writeFileSync(join(v1, "node_modules/dep/index.js"), "module.exports = 1;\n");
    writeFileSync(join(v1, "node_modules/.cache/state"), "v1\n");

    const second = await deploy("cache", "deploy", { source: { dir } });
    assert.equal(second.status, "succeeded");
    const secondBuild = build(second);
    assert.equal(secondBuild.details.dependencies?.reusedFrom, first.version);
    assert.equal(secondBuild.details.dependencies?.key, firstBuild.details.dependencies?.key);
    assert.equal(secondBuild.details.command, "", "npm ci ran although nothing it reads changed");
    assert.match(secondBuild.output, /dependencies unchanged since v\d+/);
    const v2 = store.getRelease("cache", second.version as number)?.path as string;
    assert.equal(readFileSync(join(v2, "node_modules/dep/index.js"), "utf8"), "module.exports = 1;\n");
    assert.notEqual(
      statSync(join(v2, "node_modules/dep/index.js")).ino,
      statSync(join(v1, "node_modules/dep/index.js")).ino,
      "the releases share a file: a write to one would change the other",
    );
    assert.equal(existsSync(join(v2, "node_modules/.cache")), false, "a build cache was shared between releases");
    assert.equal((await get("cache", "/env")).release, `v${second.version}`);

    // A changed lockfile installs again; so does a package with an install script, every time.
    writePackage("1.0.1");
    const third = build(await deploy("cache", "deploy", { source: { dir } }));
    assert.equal(third.details.command, "npm ci");
    assert.equal(third.details.dependencies?.reusedFrom, undefined);
    writePackage("1.0.1", { postinstall: "node -e 0" });
    for (let i = 0; i < 2; i++) {
      const scripted = build(await deploy("cache", "deploy", { source: { dir } }));
      assert.equal(scripted.details.command, "npm ci");
      assert.match(scripted.details.dependencies?.uncachable ?? "", /postinstall/);
    }
  });
});
