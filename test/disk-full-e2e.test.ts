// The disk that holds baton's home fills up, through the real CLI and server under load: during a
// build, while staging a release, and while the store and the router's snapshot are written. Each
// time the deploy (or change) fails with BATON_DISK_FULL naming the path and the space, the live
// release keeps serving with 0 failed requests, nothing half-written is left, and once space is
// back the next deploy succeeds.
//
// The home is a small tmpfs mounted for this file, so the full disk is real (no fault injected in
// code). Mounting needs root: skipped without it on a developer's machine; CI runs as root, so
// there a failed mount fails the test instead of skipping it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { freeBytes } from "../src/core/disk-full.js";
import { delay, waitFor } from "../src/core/wait.js";
import { appPaths, serverPaths } from "../src/deploy/paths.js";
import { LoadRun, type WindowStats } from "../src/load/load.js";
import { RouterClient } from "../src/router/client.js";
import { SNAPSHOT_RETRY_MS } from "../src/router/snapshot.js";
import { SqliteStore } from "../src/store/sqlite.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  type DeployJson,
  explained,
  fixtureApp,
  note,
  parseJson,
  cli as runCli,
  type ServerProc,
  startServer,
  stopEverything,
} from "./e2e-harness.js";
import { cleanup, tmpHome } from "./helpers.js";

const TMPFS_MB = 64;
const MiB = 1024 * 1024;
const APP = "shop";
const HOST = `${APP}.localhost`;

/** Mount a tmpfs of TMPFS_MB at a fresh directory: its path, or why not. */
function mountHome(): { home?: string; reason?: string } {
  if (process.getuid?.() !== 0) return { reason: "not root: mounting a tmpfs needs root (CI runs as root)" };
  const dir = mkdtempSync(join(tmpdir(), "baton-diskfull-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_MB}m,mode=0700`, "tmpfs", dir], { stdio: "pipe" });
    return { home: dir };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return { reason: `mount -t tmpfs failed: ${String((error as { stderr?: unknown }).stderr ?? error).trim()}` };
  }
}

const mounted = mountHome();
// In CI a missing mount is a failure, never a silent skip (as for the dashboard's chromium).
const skip = mounted.home !== undefined || process.env.CI ? false : (mounted.reason ?? "no tmpfs");
const home = mounted.home ?? tmpHome();
const work = tmpHome();
let server: ServerProc | undefined;
const baton = (args: string[], timeoutMs = 90_000) => runCli(home, args, timeoutMs);

function unmount(): void {
  if (mounted.home === undefined) return;
  for (const args of [
    ["umount", home],
    ["umount", home],
    ["umount", "-l", home],
  ]) {
    try {
      execFileSync(args[0] as string, args.slice(1), { stdio: "pipe" });
      break;
    } catch {
      // busy (a process still exiting): try again, lazily as the last resort
    }
  }
  rmSync(home, { recursive: true, force: true });
}

before(async () => {
  if (mounted.home === undefined) return;
  server = await startServer(home, await freePort());
});

after(async () => {
  try {
    await stopEverything(home, server);
  } finally {
    unmount();
    await cleanup();
  }
});

function requireMount(): void {
  if (mounted.home === undefined) assert.fail(`CI=true and no tmpfs home: ${mounted.reason}`);
}

/** Fill the disk with `path` until `leave` bytes are free (0: write until ENOSPC). */
function fill(path: string, leave: number): void {
  const fd = openSync(path, "a");
  try {
    const chunk = Buffer.alloc(MiB, 1);
    for (;;) {
      const room = (freeBytes(home) ?? 0) - leave;
      if (room <= 0) break;
      try {
        writeSync(fd, chunk, 0, Math.min(chunk.length, Math.max(room, 1)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOSPC") break;
        throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
}

function startLoad(port: number): LoadRun {
  return new LoadRun({
    port,
    hostHeader: HOST,
    connections: 4,
    maxDurationMs: 60_000,
    maxRequests: 400_000,
    requests: [{ path: "/" }, { method: "POST", path: "/echo", body: "x".repeat(256) }],
  }).start();
}

async function liveVersion(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { host: HOST } });
  return ((await res.json()) as { version: string }).version;
}

interface ReleasesJson {
  currentVersion: number | null;
  releases: Array<{ version: number; status: string; pruned: boolean }>;
}

async function state(): Promise<{ current: number | null; releases: string; statusVersion: number | null }> {
  const releases = parseJson<ReleasesJson>(await baton(["releases", "--app", APP, "--json"]));
  const status = parseJson<{ currentVersion: number | null }>(await baton(["status", "--app", APP, "--json"]));
  return {
    current: releases.currentVersion,
    releases: releases.releases.map((r) => `v${r.version}:${r.status}`).join(" "),
    statusVersion: status.currentVersion,
  };
}

function assertDiskFull(deploy: DeployJson | { error: DeployJson["error"] }, path: string): void {
  assert.equal(deploy.error?.code, "BATON_DISK_FULL", JSON.stringify(deploy.error));
  assert.ok(deploy.error?.message.includes(path), `the error names ${path}: ${deploy.error?.message}`);
  assert.match(deploy.error?.message ?? "", /\d+(\.\d+)? (B|KiB|MiB) free/, "the error says how much space is free");
  assert.match(deploy.error?.hint ?? "", /free space/, "the error has a hint");
}

function assertNoFailures(stats: WindowStats): void {
  assert.equal(stats.failed, 0, JSON.stringify(stats.failures));
  assert.ok(stats.requests > 50, `the load ran (${stats.requests} requests)`);
}

let deploys = 0;
function appDir(label: string, appJson: Record<string, unknown> = {}): string {
  deploys++;
  return fixtureApp(join(work, `${label}-${deploys}`), label, {}, { formation: { web: { quantity: 1 } }, ...appJson });
}

test(
  "disk full during a build: BATON_DISK_FULL, the half-built release removed, the live one serves, 0 failed",
  { skip },
  explained(async (t) => {
    requireMount();
    const port = server?.router.port ?? 0;
    const first = parseJson<DeployJson>(await baton(["deploy", appDir("v1"), "--app", APP, "--json"]));
    assert.equal(first.status, "succeeded");
    const before = await state();
    const freeBefore = freeBytes(home) ?? 0;

    const load = startLoad(port);
    // The build writes more than the whole tmpfs holds.
    const build = `dd if=/dev/zero of=big.bin bs=1M count=${TMPFS_MB * 2}`;
    const result = await baton(["deploy", appDir("v2", { baton: { build } }), "--app", APP, "--json"]);
    const servedDuring = await liveVersion(port);
    const stats = await load.stop();
    const failed = parseJson<DeployJson>(result);
    const releaseDir = appPaths(home, APP).release(failed.version ?? 0);
    const freeAfter = freeBytes(home) ?? 0;
    t.diagnostic(
      `injected: build \`${build}\` on a ${TMPFS_MB} MiB tmpfs home (${(freeBefore / MiB).toFixed(1)} MiB free)`,
    );
    t.diagnostic(`error: ${failed.error?.code}: ${failed.error?.message}`);
    t.diagnostic(
      `free after: ${(freeAfter / MiB).toFixed(1)} MiB; load: ${stats.requests} requests, ${stats.failed} failed`,
    );

    assert.notEqual(result.code, 0, "the deploy command fails");
    assert.equal(failed.status, "failed");
    assertDiskFull(failed, releaseDir);
    assert.ok(!existsSync(releaseDir), `the half-built ${releaseDir} is removed`);
    assert.ok(freeAfter > freeBefore - 4 * MiB, "the space the build took is given back");
    assert.equal(servedDuring, "v1", "the old release serves");
    assertNoFailures(stats);
    const afterState = await state();
    assert.equal(afterState.current, before.current);
    assert.equal(afterState.statusVersion, before.statusVersion);
    assert.equal(
      afterState.releases,
      `v${failed.version}:failed ${before.releases}`,
      "only the failed release was added",
    );

    const next = parseJson<DeployJson>(await baton(["deploy", appDir("v3"), "--app", APP, "--json"]));
    assert.equal(next.status, "succeeded", JSON.stringify(next.error));
    assert.equal(await liveVersion(port), "v3");
  }),
);

test(
  "disk full while staging: BATON_DISK_FULL with the space needed; after freeing space the next deploy succeeds",
  { skip },
  explained(async (t) => {
    requireMount();
    const port = server?.router.port ?? 0;
    const filler = join(home, "filler.bin");
    // A source larger than what is left; the store keeps room for its few writes.
    const source = appDir("v-big");
    writeSync(openSync(join(source, "assets.bin"), "w"), Buffer.alloc(4 * MiB, 2));
    fill(filler, 1 * MiB);
    const freeBefore = freeBytes(home) ?? 0;
    const before = await state();

    const load = startLoad(port);
    const result = await baton(["deploy", source, "--app", APP, "--json"]);
    const failed = parseJson<DeployJson>(result);
    const servedDuring = await liveVersion(port);
    const releaseDir = appPaths(home, APP).release(failed.version ?? 0);
    t.diagnostic(`injected: filler leaves ${(freeBefore / 1024).toFixed(0)} KiB; source of 4 MiB`);
    t.diagnostic(`error: ${failed.error?.code}: ${failed.error?.message} (hint: ${failed.error?.hint})`);

    assert.equal(failed.status, "failed");
    assertDiskFull(failed, releaseDir);
    assert.match(failed.error?.message ?? "", /about 4\.\d MiB needed/, "the error says how much is needed");
    assert.ok(!existsSync(releaseDir), "the half-copied release is removed");
    assert.equal(servedDuring, "v3");
    const afterState = await state();
    assert.equal(afterState.current, before.current);
    assert.equal(afterState.releases, `v${failed.version}:failed ${before.releases}`);

    rmSync(filler);
    const next = parseJson<DeployJson>(await baton(["deploy", source, "--app", APP, "--json"]));
    const stats = await load.stop();
    t.diagnostic(
      `after freeing space: deploy ${next.status}; load: ${stats.requests} requests, ${stats.failed} failed`,
    );
    assert.equal(next.status, "succeeded", JSON.stringify(next.error));
    assert.equal(await liveVersion(port), "v-big");
    assertNoFailures(stats);
  }),
);

test(
  "disk full while writing state: the store and the routing snapshot keep their last state, the router serves from memory, 0 failed",
  { skip },
  explained(async (t) => {
    requireMount();
    const port = server?.router.port ?? 0;
    const paths = serverPaths(home);
    const snapshotPath = join(home, "router-table.json");
    const filler = join(home, "filler.bin");
    const snapshotBefore = readFileSync(snapshotPath, "utf8");
    const before = await state();
    // The WAL is checkpointed and truncated (as after a restart), so the store's next write must
    // take new space: without this, SQLite could reuse WAL pages it already has.
    const db = new Database(paths.store);
    db.pragma("busy_timeout = 5000");
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
    fill(filler, 0);
    t.diagnostic(`injected: filler leaves ${freeBytes(home)} bytes free; the WAL truncated`);

    const load = startLoad(port);
    // A deploy needs the store first (the audit line, the deploy record).
    const refused = await baton(["deploy", appDir("v-full"), "--app", APP, "--json"]);
    const refusedError = (() => {
      try {
        return parseJson<{ error: DeployJson["error"] }>(refused).error;
      } catch {
        return null;
      }
    })();
    t.diagnostic(`deploy on a full store: exit ${refused.code}: ${refused.stderr.trim() || refused.stdout.trim()}`);
    assert.notEqual(refused.code, 0);
    const reported = refusedError ?? { code: /BATON_[A-Z_]+/.exec(refused.stderr)?.[0] ?? "", message: refused.stderr };
    assert.equal(reported.code, "BATON_DISK_FULL", refused.stderr);
    assert.match(reported.message, /baton\.db/, "the error names the store");

    // A routing change while full: the router takes it in memory; its snapshot write fails.
    const router = new RouterClient(join(home, "router.sock"));
    await router.putApp({ name: "spare", domains: ["spare.localhost"] });
    const snapshotWhileFull = readFileSync(snapshotPath, "utf8");
    const leftovers = readdirSync(home).filter((name) => name.endsWith(".tmp"));
    assert.equal(snapshotWhileFull, snapshotBefore, "the snapshot keeps its previous content");
    JSON.parse(snapshotWhileFull);
    assert.deepEqual(leftovers, [], "no temporary file is left behind");
    assert.ok(
      (await router.table()).apps.some((a) => a.name === "spare"),
      "the router took the change in memory",
    );
    assert.equal(await liveVersion(port), "v-big", "the live release serves");
    const health = await router.health();
    assert.equal(health.pid, server?.router.pid, "the router did not restart");
    // The server is still up and still reads its store.
    const whileFull = await state();
    assert.equal(whileFull.current, before.current);
    assert.equal(whileFull.releases, before.releases, "no release was recorded");

    rmSync(filler);
    // The failed snapshot write is retried without waiting for another change.
    await waitFor(
      "the routing snapshot to be written again",
      async () => (readFileSync(snapshotPath, "utf8").includes('"spare"') ? true : undefined),
      { timeoutMs: SNAPSHOT_RETRY_MS * 5, intervalMs: 100 },
    );
    // Logged once space is back (the failure itself could not be: the router's log is on the same disk).
    await waitFor(
      "the router to log that the snapshot is written again",
      async () => (readFileSync(paths.routerLog, "utf8").includes("routing table persisted again") ? true : undefined),
      { timeoutMs: 5_000, intervalMs: 100 },
    );
    const check = new Database(paths.store, { readonly: true });
    const integrity = check.pragma("integrity_check", { simple: true });
    check.close();
    assert.equal(integrity, "ok", "the store is intact");
    await router.removeApp("spare");
    const next = parseJson<DeployJson>(await baton(["deploy", appDir("v-after"), "--app", APP, "--json"]));
    await delay(200);
    const stats = await load.stop();
    t.diagnostic(
      `after freeing space: deploy ${next.status}; load: ${stats.requests} requests, ${stats.failed} failed`,
    );
    note(`store integrity: ${integrity}`);
    assert.equal(next.status, "succeeded", JSON.stringify(next.error));
    assert.equal(await liveVersion(port), "v-after");
    assertNoFailures(stats);
  }),
);

test(
  "the store on a full disk: every kind of write fails with BATON_DISK_FULL, none is reported done and lost, and it works again once space is back",
  { skip },
  explained(async (t) => {
    requireMount();
    const path = join(home, "unit-store", "baton.db");
    const filler = join(home, "filler.bin");
    const store = SqliteStore.open(path);
    try {
      store.createApp({
        name: "unit",
        domains: ["unit.localhost"],
        isDefault: false,
        currentVersion: null,
        configVars: {},
      });
      const release = {
        app: "unit",
        status: "pending" as const,
        source: "dir /x",
        path: "/x",
        configVars: {},
        appConfig: null,
      };
      store.createRelease(release);
      const deploy = store.createDeploy({ app: "unit", kind: "deploy", request: {} });
      const db = new Database(path);
      db.pragma("wal_checkpoint(TRUNCATE)");
      db.close();
      fill(filler, 0);
      // Before the fix, a write with RETURNING (createRelease, createDeploy, every update) returned
      // its row while SQLite rolled the commit back: reported done, silently lost.
      const writes: Array<[string, () => unknown]> = [
        ["createRelease", () => store.createRelease(release)],
        ["createDeploy", () => store.createDeploy({ app: "unit", kind: "deploy", request: {} })],
        ["updateDeploy", () => store.updateDeploy(deploy.id, { status: "failed" })],
        ["addEvent", () => store.addEvent({ app: "unit", deployId: null, kind: "k", message: "m", data: {} })],
        ["transaction", () => store.transaction(() => store.updateApp("unit", { currentVersion: 1 }))],
      ];
      for (const [name, write] of writes) {
        assert.throws(write, (error: { code?: string; message?: string }) => {
          t.diagnostic(`${name}: ${error.code}: ${error.message}`);
          return error.code === "BATON_DISK_FULL" && (error.message ?? "").includes(path);
        });
      }
      assert.deepEqual(
        store.listReleases("unit").map((r) => r.version),
        [1],
        "no release was recorded",
      );
      assert.equal(store.listDeploys({ app: "unit" }).length, 1, "no deploy was recorded");
      assert.equal(store.getDeploy(deploy.id)?.status, "queued", "the deploy kept its last stored state");
      assert.equal(store.getApp("unit")?.currentVersion, null);
      rmSync(filler);
      assert.equal(store.createRelease(release).version, 2, "writes work again once space is back");
      assert.equal(store.updateDeploy(deploy.id, { status: "failed" }).status, "failed");
    } finally {
      store.close();
      rmSync(filler, { force: true });
    }
  }),
);
