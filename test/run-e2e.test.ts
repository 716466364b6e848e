// End to end through the real CLI and the real server: `baton run`, one-off processes with a
// release's code and config. "shop" is deployed from a copy of test/fixtures/apps/web, then
// config:set makes v2; the one-offs run in it (or in v1 with --release).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/core/wait.js";
import { SqliteStore } from "../src/store/sqlite.js";
import type { EventRecord } from "../src/store/store.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  children,
  type DeployJson,
  explained,
  fixtureApp,
  killGroup,
  note,
  parseJson,
  cli as runCli,
  type ServerProc,
  startServer,
} from "./e2e-harness.js";
import { cleanup, tmpHome } from "./helpers.js";

const DEPLOY_TIMEOUT_MS = 60_000;
const COMMAND_TIMEOUT_MS = 20_000;

/** Pids of live processes whose command line is exactly `words` (e.g. a one-off's `sleep 31.4159`). */
function processesRunning(words: string[]): number[] {
  const wanted = words.join("\0");
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0$/, "");
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const zombie = stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z";
      if (cmdline === wanted && !zombie) found.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

describe("baton run: one-off processes with a release's code and config", () => {
  const home = tmpHome();
  const work = tmpHome();
  const pidDir = join(work, "pids");
  let server: ServerProc | undefined;
  /** Every one-off's unique command line, killed in `after` whatever happened. */
  const sleepers: string[][] = [];

  const baton = (args: string[], timeoutMs = COMMAND_TIMEOUT_MS) => runCli(home, args, timeoutMs);
  const ok = async (args: string[], timeoutMs?: number) => {
    const result = await baton(args, timeoutMs);
    assert.equal(result.code, 0, `baton ${args.join(" ")}: exit ${result.code}\n${result.stderr}`);
    return result;
  };
  /** The server's store, read beside it (SQLite in WAL mode). */
  const withStore = <T>(read: (store: SqliteStore) => T): T => {
    const store = SqliteStore.open(join(home, "baton.db"));
    try {
      return read(store);
    } finally {
      store.close();
    }
  };
  const runEvents = (): EventRecord[] =>
    withStore((store) => store.listEvents({ app: "shop", kinds: ["run.started", "run.finished"] }));

  before(async () => {
    server = await startServer(home, await freePort());
    const dir = fixtureApp(join(work, "shop"), "shop-fixture-1", { pidDir });
    const deployed = await baton(["deploy", dir, "--app", "shop", "--json"], DEPLOY_TIMEOUT_MS);
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.equal(parseJson<DeployJson>(deployed).version, 1);
    const configured = await baton(["config:set", "--app", "shop", "GREETING=hello", "--json"], DEPLOY_TIMEOUT_MS);
    assert.equal(configured.code, 0, configured.stderr);
    assert.equal(parseJson<DeployJson>(configured).version, 2);
  });

  after(async () => {
    if (server !== undefined) {
      const down = await baton(["shutdown"], 30_000);
      if (down.code !== 0) note(`shutdown failed: ${down.stderr}`);
      await server.exited;
    }
    if (existsSync(pidDir))
      for (const file of readdirSync(pidDir))
        killGroup((JSON.parse(readFileSync(join(pidDir, file), "utf8")) as { pid: number }).pid);
    for (const words of sleepers) for (const pid of processesRunning(words)) killGroup(pid);
    if (server !== undefined) killGroup(server.router.pid);
    for (const child of children) child.kill("SIGKILL");
    await cleanup();
  });

  test(
    "the live release's config and code; stdout and stderr live; its exit code; the shell for one word",
    explained(async () => {
      const script = "console.log(process.env.GREETING, process.env.BATON_RELEASE); process.exit(3)";
      const greeted = await baton(["run", "--app", "shop", "--", "node", "-e", script]);
      assert.equal(greeted.stdout, "hello v2\n", greeted.stderr);
      assert.equal(greeted.code, 3, "the command's exit code");

      const version = await ok(["run", "--app", "shop", "--", "cat", "VERSION"]);
      assert.equal(version.stdout, "shop-fixture-1\n", "run in the release's directory");

      const both = await baton([
        "run",
        "--app",
        "shop",
        "--",
        "node",
        "-e",
        "console.error('to stderr'); console.log('to stdout'); process.exitCode = 1",
      ]);
      assert.equal(both.code, 1);
      assert.equal(both.stdout, "to stdout\n");
      assert.match(both.stderr, /^to stderr$/m);

      // One word: a shell command line, as Heroku runs it. Nothing routes to a one-off: no PORT.
      const shell = await ok(["run", "--app", "shop", "--", 'echo "$DYNO port=$PORT $BATON_APP"; pwd']);
      const [dynoLine, pwd] = shell.stdout.trimEnd().split("\n");
      assert.match(dynoLine ?? "", /^run\.\d+ port= shop$/);
      // v2 (a config change) has v1's code: its release directory is the one the store names.
      assert.equal(
        pwd,
        withStore((store) => store.getRelease("shop", 2)?.path),
      );

      // An older release by name: its code and its (older) config.
      const older = await ok([
        "run",
        "--app",
        "shop",
        "--release",
        "v1",
        "--",
        "sh",
        "-c",
        "echo greeting=$GREETING $BATON_RELEASE",
      ]);
      assert.equal(older.stdout, "greeting= v1\n");

      // Its own process group (it leads it), at nice 10.
      const group = await ok([
        "run",
        "--app",
        "shop",
        "--",
        "node",
        "-e",
        "const f = require('fs').readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' '); console.log(Number(f[2]) === process.pid, require('os').getPriority())",
      ]);
      assert.equal(group.stdout, "true 10\n");

      const killed = await baton(["run", "--app", "shop", "--", "sh", "-c", "kill -TERM $$"]);
      assert.equal(killed.code, 128 + 15, "a signal n ends baton run with 128+n");
    }),
  );

  test(
    "--timeout stops it (SIGTERM) and leaves nothing; so does the caller going away",
    explained(async () => {
      const sleeper = ["sleep", "31.4159"];
      sleepers.push(sleeper);
      const timedOut = await baton(["run", "--app", "shop", "--timeout", "1", "--", ...sleeper]);
      assert.equal(timedOut.code, 124, `stopped by its timeout: ${timedOut.stderr}`);
      assert.ok(timedOut.ms < 8_000, `ended in about a second, took ${timedOut.ms} ms`);
      assert.match(timedOut.stderr, /stopped after its timeout/);
      assert.deepEqual(processesRunning(sleeper), [], "no process left");

      // The CLI is killed (SIGKILL, no goodbye) while its one-off runs: the server stops the one-off.
      const orphan = ["sleep", "32.718"];
      sleepers.push(orphan);
      const caller = baton(["run", "--app", "shop", "--", ...orphan], 60_000);
      const [pid] = await waitFor(
        "the one-off to start",
        () => {
          const found = processesRunning(orphan);
          return found.length > 0 ? found : undefined;
        },
        { timeoutMs: 15_000 },
      );
      const cli = [...children].find((c) => c.spawnargs.includes(orphan[1] as string));
      assert.ok(cli !== undefined, "the CLI process");
      cli.kill("SIGKILL");
      await caller;
      await waitFor("the one-off to be stopped", () => (processesRunning(orphan).length === 0 ? true : undefined), {
        timeoutMs: 15_000,
      });
      note(`one-off ${pid} stopped after its caller went away`);
      const finished = await waitFor(
        "run.finished of the abandoned one-off",
        () =>
          runEvents().find((e) => e.kind === "run.finished" && String(e.data.command).includes(orphan[1] as string)),
        { timeoutMs: 15_000 },
      );
      assert.equal(finished.data.abandoned, true);
      assert.equal(finished.data.exitCode, 128 + 15);
    }),
  );

  test(
    "a locked app still runs one-offs; unknown apps and releases are BATON_NOT_FOUND",
    explained(async () => {
      await ok(["apps:lock", "--app", "shop", "--reason", "release freeze"]);
      const locked = await ok(["run", "--app", "shop", "--", "echo", "still", "runs"]);
      assert.equal(locked.stdout, "still runs\n");
      await ok(["apps:unlock", "--app", "shop"]);

      const noApp = await baton(["run", "--app", "nope", "--", "true"]);
      assert.equal(noApp.code, 1);
      assert.match(noApp.stderr, /BATON_NOT_FOUND: app "nope" does not exist/);
      assert.match(noApp.stderr, /hint: `baton apps` lists the apps/);

      const noRelease = await baton(["run", "--app", "shop", "--release", "v99", "--", "true"]);
      assert.equal(noRelease.code, 1);
      assert.match(noRelease.stderr, /BATON_NOT_FOUND: app "shop" has no release v99/);

      // An app with config vars but no deploy yet has nothing to run in.
      await ok(["config:set", "--app", "empty", "X=1"]);
      const nothingLive = await baton(["run", "--app", "empty", "--", "true"]);
      assert.equal(nothingLive.code, 1);
      assert.match(nothingLive.stderr, /BATON_NOT_FOUND: app "empty" has no live release/);
      assert.match(nothingLive.stderr, /hint: deploy it first/);

      const usage = await baton(["run", "--app", "shop"]);
      assert.equal(usage.code, 2, "no command is a usage error");
    }),
  );

  test(
    "each one-off is in the app's history: run.started and run.finished, the command but not its environment",
    explained(async () => {
      const events = runEvents();
      const started = events.filter((e) => e.kind === "run.started");
      const finished = events.filter((e) => e.kind === "run.finished");
      assert.ok(started.length >= 8, JSON.stringify(events, null, 1));
      assert.equal(finished.length, started.length, "every one-off that started finished");
      const greeted = finished.find((e) =>
        String(e.data.command).startsWith("node -e 'console.log(process.env.GREETING"),
      );
      assert.ok(greeted !== undefined, JSON.stringify(finished, null, 1));
      assert.equal(greeted.data.exitCode, 3);
      assert.equal(greeted.data.version, 2);
      assert.equal(typeof greeted.data.durationMs, "number");
      assert.ok(typeof greeted.data.by === "string" && greeted.data.by !== "" && greeted.data.by !== "api");
      const timedOut = finished.find((e) => e.data.timedOut === true);
      assert.ok(timedOut !== undefined && timedOut.data.exitCode === 124);
      // The runs count up: DYNO run.1, run.2, ...
      assert.deepEqual(
        started.map((e) => e.data.run),
        started.map((_, i) => i + 1),
      );
      assert.ok(!JSON.stringify(events).includes("hello"), "no config var value in the history");
    }),
  );

  test(
    "apps:destroy stops the app's one-offs",
    explained(async () => {
      const doomed = ["sleep", "33.1"];
      sleepers.push(doomed);
      const caller = baton(["run", "--app", "shop", "--", ...doomed], 60_000);
      await waitFor("the one-off to start", () => (processesRunning(doomed).length > 0 ? true : undefined), {
        timeoutMs: 15_000,
      });
      await ok(["apps:destroy", "shop", "--confirm", "shop"], 60_000);
      const ended = await caller;
      assert.equal(ended.code, 128 + 15, `stopped with SIGTERM: ${ended.stderr}`);
      assert.deepEqual(processesRunning(doomed), [], "no process left");
    }),
  );
});
