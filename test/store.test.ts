import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { BatonError } from "../src/core/errors.js";
import { MIGRATIONS, migrate } from "../src/store/schema.js";
import { capOutput, SqliteStore, STEP_OUTPUT_CAP } from "../src/store/sqlite.js";
import type { InstanceRecord } from "../src/store/store.js";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tmpDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "baton-store-"));
  dirs.push(dir);
  return dir;
}

/** An in-memory store with one app, closed when the test ends. */
function storeWithApp(t: { after(fn: () => void): void }, name = "demo"): SqliteStore {
  const store = SqliteStore.open(":memory:");
  t.after(() => store.close());
  store.createApp({ name, domains: [`${name}.localhost`], isDefault: false, currentVersion: null, configVars: {} });
  return store;
}

function release(app = "demo") {
  return { app, status: "pending" as const, source: "dir /src", path: "/releases/x", configVars: {}, appConfig: null };
}

function instance(overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    id: "demo.web.v1.1",
    app: "demo",
    version: 1,
    type: "web",
    index: 1,
    pid: 4242,
    startTime: "123456",
    port: 5001,
    state: "starting",
    logPath: "/logs/demo.web.1.log",
    startedAt: 1000,
    restarts: 0,
    command: "node server.js",
    cwd: "/releases/v1",
    ...overrides,
  };
}

function assertNotFound(fn: () => unknown): void {
  assert.throws(fn, (error) => error instanceof BatonError && error.code === "BATON_NOT_FOUND" && error.status === 404);
}

test("release versions count up per app, survive updates and pruning, and are never reused", (t) => {
  const store = storeWithApp(t);
  store.createApp({ name: "other", domains: [], isDefault: false, currentVersion: null, configVars: {} });
  assert.equal(store.createRelease(release()).version, 1);
  assert.equal(store.createRelease(release()).version, 2);
  assert.equal(store.createRelease(release("other")).version, 1, "each app counts on its own");

  const pruned = store.updateRelease("demo", 2, { status: "ready", pruned: true, path: "/gone" });
  assert.equal(pruned.version, 2);
  assert.equal(pruned.pruned, true);
  assert.equal(pruned.status, "ready");
  assert.equal(store.createRelease(release()).version, 3);
  assert.deepEqual(
    store.listReleases("demo").map((r) => r.version),
    [3, 2, 1],
    "newest first",
  );

  // Versions allocated inside a transaction that rolls back are not kept, so not "reused" either.
  assert.throws(() =>
    store.transaction(() => {
      store.createRelease(release());
      throw new Error("boom");
    }),
  );
  assert.equal(store.createRelease(release()).version, 4);
  assertNotFound(() => store.updateRelease("demo", 99, { status: "failed" }));
  assertNotFound(() => store.createRelease(release("nope")));
});

test("every JSON field and boolean round-trips", (t) => {
  const store = storeWithApp(t, "base");
  const app = store.createApp({
    name: "json",
    domains: ["a.example", "b.example"],
    isDefault: true,
    currentVersion: null,
    configVars: { DATABASE_URL: "postgres://x", EMPTY: "", QUOTE: `"'\n` },
  });
  assert.equal(app.isDefault, true);
  assert.equal(typeof app.createdAt, "number");
  assert.deepEqual(store.getApp("json"), app);
  assert.deepEqual(store.updateApp("json", { isDefault: false, currentVersion: 3 }), {
    ...app,
    isDefault: false,
    currentVersion: 3,
  });
  assert.equal(store.updateApp("json", { currentVersion: null }).currentVersion, null, "null is a value, not a skip");
  assert.deepEqual(
    store.listApps().map((a) => a.name),
    ["base", "json"],
  );

  const appConfig = { name: "json", processes: [{ name: "web", quantity: 2 }], warmup: null, nested: { a: [1, "2"] } };
  const created = store.createRelease({ ...release("json"), configVars: { K: "v" }, appConfig });
  assert.equal(created.pruned, false);
  assert.deepEqual(store.getRelease("json", created.version), created);
  assert.deepEqual(store.getRelease("json", created.version)?.appConfig, appConfig);
  assert.deepEqual(store.getRelease("json", created.version)?.configVars, { K: "v" });
  assert.equal(store.getRelease("json", 99), undefined);

  const request = { source: "/src", strategy: "canary", set: { A: "1" }, list: [1, 2] };
  const deploy = store.createDeploy({ app: "json", kind: "deploy", request, fromVersion: 2 });
  assert.deepEqual(
    {
      status: deploy.status,
      phase: deploy.phase,
      version: deploy.version,
      fromVersion: deploy.fromVersion,
      startedAt: deploy.startedAt,
      finishedAt: deploy.finishedAt,
      error: deploy.error,
      failedRequests: deploy.failedRequests,
      details: deploy.details,
    },
    {
      status: "queued",
      phase: "queued",
      version: null,
      fromVersion: 2,
      startedAt: null,
      finishedAt: null,
      error: null,
      failedRequests: null,
      details: {},
    },
  );
  const error = { code: "BATON_TIMEOUT", message: "boot took too long", hint: "raise it" };
  const updated = store.updateDeploy(deploy.id, {
    status: "failed",
    error,
    details: { supersededBy: 7, counts: { ok: 10 } },
    failedRequests: 0,
    finishedAt: 5,
  });
  assert.deepEqual(store.getDeploy(deploy.id), updated);
  assert.deepEqual(updated.request, request);
  assert.deepEqual(updated.error, error);
  assert.deepEqual(updated.details, { supersededBy: 7, counts: { ok: 10 } });
  assert.equal(updated.failedRequests, 0);
  assert.equal(store.updateDeploy(deploy.id, { error: null }).error, null);

  const step = store.startStep(deploy.id, "build");
  const finished = store.finishStep(deploy.id, step.seq, { status: "failed", details: { code: "X", list: [true] } });
  assert.deepEqual(finished.details, { code: "X", list: [true] });

  const event = store.addEvent({
    app: "json",
    deployId: deploy.id,
    kind: "k",
    message: "m",
    data: { a: { b: [null] } },
  });
  assert.deepEqual(store.listEvents({ app: "json" }), [event]);
  assert.deepEqual(event.data, { a: { b: [null] } });
});

test("an app name is unique", (t) => {
  const store = storeWithApp(t);
  assert.throws(
    () => store.createApp({ name: "demo", domains: [], isDefault: false, currentVersion: null, configVars: {} }),
    (error) => error instanceof BatonError && error.code === "BATON_USAGE" && /already exists/.test(error.message),
  );
  assertNotFound(() => store.updateApp("nope", { isDefault: true }));
  assertNotFound(() => store.updateApp("nope", {}));
});

test("deploys list newest first, filtered by app and status, with a limit", (t) => {
  const store = storeWithApp(t);
  store.createApp({ name: "other", domains: [], isDefault: false, currentVersion: null, configVars: {} });
  const a = store.createDeploy({ app: "demo", kind: "deploy", request: {} });
  const b = store.createDeploy({ app: "demo", kind: "rollback", request: {}, version: 1 });
  const c = store.createDeploy({ app: "other", kind: "config", request: {} });
  const d = store.createDeploy({ app: "demo", kind: "deploy", request: {} });
  assert.ok(a.id < b.id && b.id < c.id && c.id < d.id);
  store.updateDeploy(a.id, { status: "succeeded" });
  store.updateDeploy(b.id, { status: "running", phase: "boot", startedAt: 10 });

  const ids = (list: { id: number }[]) => list.map((x) => x.id);
  assert.deepEqual(ids(store.listDeploys()), [d.id, c.id, b.id, a.id]);
  assert.deepEqual(ids(store.listDeploys({ app: "demo" })), [d.id, b.id, a.id]);
  assert.deepEqual(ids(store.listDeploys({ statuses: ["queued", "running"] })), [d.id, c.id, b.id]);
  assert.deepEqual(ids(store.listDeploys({ app: "demo", statuses: ["queued", "running"] })), [d.id, b.id]);
  assert.deepEqual(ids(store.listDeploys({ statuses: ["succeeded"] })), [a.id]);
  assert.deepEqual(ids(store.listDeploys({ statuses: [] })), [], "no status matches an empty list");
  assert.deepEqual(ids(store.listDeploys({ app: "demo", limit: 2 })), [d.id, b.id]);
  assert.deepEqual(ids(store.listDeploys({ limit: 0 })), []);
  assert.throws(
    () => store.listDeploys({ limit: -1 }),
    (error) => error instanceof BatonError,
  );
  assert.equal(b.version, 1);
  assert.equal(store.getDeploy(b.id)?.phase, "boot");
  assert.equal(store.getDeploy(9999), undefined);
  assertNotFound(() => store.updateDeploy(9999, { status: "failed" }));
  assertNotFound(() => store.createDeploy({ app: "nope", kind: "deploy", request: {} }));
});

test("steps number 1, 2, 3 per deploy and keep the last 64 KiB of output", (t) => {
  const store = storeWithApp(t);
  const one = store.createDeploy({ app: "demo", kind: "deploy", request: {} });
  const two = store.createDeploy({ app: "demo", kind: "deploy", request: {} });
  const build = store.startStep(one.id, "build");
  assert.deepEqual(
    {
      seq: build.seq,
      status: build.status,
      output: build.output,
      finishedAt: build.finishedAt,
      details: build.details,
    },
    { seq: 1, status: "running", output: "", finishedAt: null, details: {} },
  );
  assert.equal(store.startStep(one.id, "release").seq, 2);
  assert.equal(store.startStep(two.id, "build").seq, 1, "each deploy counts on its own");
  assert.equal(store.startStep(one.id, "boot").seq, 3);

  const log = `${"x".repeat(100_000)}\nerror: the line that matters\n`;
  const done = store.finishStep(one.id, build.seq, { status: "failed", output: log });
  assert.equal(done.status, "failed");
  assert.ok(done.finishedAt !== null && done.finishedAt >= done.startedAt);
  assert.ok(Buffer.byteLength(done.output) <= STEP_OUTPUT_CAP);
  assert.ok(done.output.endsWith("error: the line that matters\n"), "the end of the log is kept");
  const cut = /^\[\.\.\. (\d+) bytes cut\]\n/.exec(done.output);
  assert.ok(cut, "a leading line says how much was cut");
  assert.equal(Number(cut[1]) + Buffer.byteLength(done.output) - cut[0].length, Buffer.byteLength(log));

  const small = store.finishStep(one.id, 2, { status: "succeeded", output: "ok\n" });
  assert.equal(small.output, "ok\n");
  assert.deepEqual(
    store.listSteps(one.id).map((s) => [s.seq, s.name, s.status]),
    [
      [1, "build", "failed"],
      [2, "release", "succeeded"],
      [3, "boot", "running"],
    ],
  );
  assert.equal(store.finishStep(one.id, 3, { status: "skipped" }).output, "", "output is kept when not given");
  assertNotFound(() => store.finishStep(one.id, 9, { status: "succeeded" }));
  assertNotFound(() => store.startStep(9999, "build"));
});

test("capped output never splits a UTF-8 character and counts the bytes it cut", () => {
  const text = "é".repeat(50); // 100 bytes, 2 per character
  const capped = capOutput(text, 41);
  assert.ok(Buffer.byteLength(capped) <= 41);
  const cut = /^\[\.\.\. (\d+) bytes cut\]\n(.*)$/s.exec(capped);
  assert.ok(cut);
  assert.match(cut[2] as string, /^é+$/);
  assert.equal(Number(cut[1]) + Buffer.byteLength(cut[2] as string), 100);
  assert.equal(capOutput("short", 41), "short");
});

test("instances are upserted by id and filtered by app and states", (t) => {
  const store = storeWithApp(t);
  store.createApp({ name: "other", domains: [], isDefault: false, currentVersion: null, configVars: {} });
  const web1 = instance();
  store.putInstance(web1);
  assert.deepEqual(store.getInstance(web1.id), web1);
  store.putInstance({ ...web1, pid: 5000, state: "running", restarts: 1 });
  assert.deepEqual(store.getInstance(web1.id), { ...web1, pid: 5000, state: "running", restarts: 1 });
  assert.equal(store.listInstances().length, 1, "put replaces by id");

  store.putInstance(instance({ id: "demo.web.v1.2", index: 2, port: 5002, state: "crashed" }));
  store.putInstance(instance({ id: "demo.worker.v1.1", type: "worker", port: null, state: "stopping" }));
  store.putInstance(instance({ id: "other.web.v3.1", app: "other", version: 3 }));

  const ids = (list: InstanceRecord[]) => list.map((i) => i.id);
  assert.deepEqual(ids(store.listInstances({ app: "demo" })), ["demo.web.v1.1", "demo.web.v1.2", "demo.worker.v1.1"]);
  assert.deepEqual(ids(store.listInstances({ states: ["running", "starting"] })), ["demo.web.v1.1", "other.web.v3.1"]);
  assert.deepEqual(ids(store.listInstances({ app: "demo", states: ["crashed", "stopping"] })), [
    "demo.web.v1.2",
    "demo.worker.v1.1",
  ]);
  assert.deepEqual(ids(store.listInstances({ states: [] })), []);
  assert.equal(store.getInstance("demo.worker.v1.1")?.port, null);

  const stopped = store.updateInstance("demo.web.v1.2", { state: "stopped", port: null, restarts: 3 });
  assert.deepEqual(
    { state: stopped.state, port: stopped.port, restarts: stopped.restarts, pid: stopped.pid },
    { state: "stopped", port: null, restarts: 3, pid: 4242 },
  );
  store.deleteInstance("demo.web.v1.2");
  store.deleteInstance("demo.web.v1.2"); // deleting what is gone is fine
  assert.equal(store.getInstance("demo.web.v1.2"), undefined);
  assertNotFound(() => store.updateInstance("demo.web.v1.2", { state: "running" }));
  assertNotFound(() => store.putInstance(instance({ id: "ghost.web.v1.1", app: "ghost" })));
});

test("events list oldest first, after an id, by app or deploy", (t) => {
  const store = storeWithApp(t);
  const deploy = store.createDeploy({ app: "demo", kind: "deploy", request: {} });
  const first = store.addEvent({ app: "demo", deployId: null, kind: "instance.crashed", message: "web.1", data: {} });
  const second = store.addEvent({
    app: "demo",
    deployId: deploy.id,
    kind: "deploy.step.started",
    message: "build",
    data: {},
  });
  const third = store.addEvent({ app: "other", deployId: null, kind: "x", message: "y", data: {}, time: 42 });
  const fourth = store.addEvent({
    app: "demo",
    deployId: deploy.id,
    kind: "deploy.step.finished",
    message: "ok",
    data: {},
  });
  assert.equal(third.time, 42, "a given time is kept");
  assert.ok(first.time > 0);

  const ids = (list: { id: number }[]) => list.map((e) => e.id);
  assert.deepEqual(ids(store.listEvents({})), [first.id, second.id, third.id, fourth.id]);
  assert.deepEqual(ids(store.listEvents({ app: "demo" })), [first.id, second.id, fourth.id]);
  assert.deepEqual(ids(store.listEvents({ app: "demo", afterId: second.id })), [fourth.id]);
  assert.deepEqual(ids(store.listEvents({ deployId: deploy.id })), [second.id, fourth.id]);
  assert.deepEqual(ids(store.listEvents({ afterId: first.id, limit: 2 })), [second.id, third.id]);
  assert.deepEqual(ids(store.listEvents({ afterId: fourth.id })), []);
});

test("a transaction is all or nothing, and nests", (t) => {
  const store = storeWithApp(t);
  assert.throws(
    () =>
      store.transaction(() => {
        store.createRelease(release());
        store.updateApp("demo", { currentVersion: 1 });
        throw new Error("boom");
      }),
    /boom/,
  );
  assert.deepEqual(store.listReleases("demo"), []);
  assert.equal(store.getApp("demo")?.currentVersion, null);

  const result = store.transaction(() => {
    store.createRelease(release());
    // A failing inner transaction undoes only its own writes.
    assert.throws(() =>
      store.transaction(() => {
        store.updateApp("demo", { currentVersion: 1 });
        throw new Error("inner");
      }),
    );
    return "done";
  });
  assert.equal(result, "done");
  assert.equal(store.listReleases("demo").length, 1);
  assert.equal(store.getApp("demo")?.currentVersion, null);
});

test("a file store is created 0600, keeps its data when reopened and migrates once", () => {
  const path = join(tmpDir(), "nested", "dir", "baton.db");
  const store = SqliteStore.open(path);
  store.createApp({ name: "demo", domains: [], isDefault: true, currentVersion: null, configVars: { SECRET: "s" } });
  store.createRelease(release());
  const deploy = store.createDeploy({ app: "demo", kind: "deploy", request: { dir: "/src" } });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600, "the WAL holds the same secrets");
  store.close();
  store.close(); // idempotent

  const raw = new Database(path);
  assert.equal(raw.pragma("journal_mode", { simple: true }), "wal");
  assert.equal(raw.pragma("user_version", { simple: true }), MIGRATIONS.length);
  assert.equal(migrate(raw), 0, "nothing left to apply");
  raw.close();

  const again = SqliteStore.open(path);
  try {
    assert.equal(again.getApp("demo")?.configVars.SECRET, "s");
    assert.deepEqual(again.getDeploy(deploy.id)?.request, { dir: "/src" });
    assert.equal(again.createRelease(release()).version, 2);
    assert.ok(again.createDeploy({ app: "demo", kind: "deploy", request: {} }).id > deploy.id);
  } finally {
    again.close();
  }
});

test("migrations apply in order, one transaction each, and a newer store is refused", () => {
  const path = join(tmpDir(), "m.db");
  const db = new Database(path);
  try {
    const first = "CREATE TABLE a (x INTEGER);";
    assert.equal(migrate(db, [first]), 1);
    // The second migration fails half-way: its first statement must not stick.
    assert.throws(() => migrate(db, [first, "CREATE TABLE b (x INTEGER); INSERT INTO nope VALUES (1);"]));
    assert.equal(db.pragma("user_version", { simple: true }), 1);
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").all(), []);
    assert.equal(migrate(db, [first, "CREATE TABLE b (x INTEGER);"]), 1);
    assert.equal(db.pragma("user_version", { simple: true }), 2);
    assert.throws(
      () => migrate(db, [first]),
      (error) => error instanceof BatonError && error.code === "BATON_STATE_CORRUPT",
    );
  } finally {
    db.close();
  }
});

test("a file that is not a database is reported, not overwritten", () => {
  const path = join(tmpDir(), "junk.db");
  writeFileSync(path, "this is not sqlite, just some text long enough to have a header ".repeat(10));
  assert.throws(
    () => SqliteStore.open(path),
    (error) => error instanceof BatonError && error.code === "BATON_STATE_CORRUPT",
  );
  assert.equal(existsSync(`${path}-wal`), false);
});

test("maintenance and the lock round-trip as JSON or null, and deleteApp forgets every row of one app", (t) => {
  const store = storeWithApp(t, "gone");
  store.createApp({ name: "kept", domains: [], isDefault: false, currentVersion: null, configVars: {} });
  assert.equal(store.getApp("gone")?.maintenance, null, "off unless given");
  assert.equal(store.getApp("gone")?.lock, null);
  const maintenance = { retryAfterS: 120, html: "<p>back soon</p>", page: "closed.html", since: 1, by: "alice" };
  const lock = { reason: "audit", by: "bob", at: 2 };
  assert.deepEqual(store.updateApp("gone", { maintenance, lock }).maintenance, maintenance);
  assert.deepEqual(store.getApp("gone")?.lock, lock);
  assert.equal(store.updateApp("gone", { lock: null }).lock, null, "null clears it");
  assert.deepEqual(store.getApp("gone")?.maintenance, maintenance, "a patch leaves other fields alone");

  for (const app of ["gone", "kept"]) {
    store.createRelease(release(app));
    const deploy = store.createDeploy({ app, kind: "deploy", request: {} });
    store.startStep(deploy.id, "stage");
    store.putInstance(instance({ id: `${app}.web.v1.1`, app }));
    store.addEvent({ app, deployId: deploy.id, kind: "deploy.started", message: "", data: {} });
  }
  const keptDeploy = store.listDeploys({ app: "kept" })[0];
  store.deleteApp("gone");
  store.deleteApp("never-was");
  assert.equal(store.getApp("gone"), undefined);
  assert.deepEqual(store.listReleases("gone"), []);
  assert.deepEqual(store.listDeploys({ app: "gone" }), []);
  assert.deepEqual(store.listInstances({ app: "gone" }), []);
  assert.deepEqual(store.listEvents({ app: "gone" }), []);
  assert.equal(store.listReleases("kept").length, 1, "another app keeps its rows");
  assert.equal(store.listSteps(keptDeploy?.id ?? 0).length, 1);
  assert.equal(store.listInstances({ app: "kept" }).length, 1);
  assert.equal(store.listEvents({ app: "kept" }).length, 1);
  // The name can be used again, from scratch.
  assert.equal(
    store.createApp({ name: "gone", domains: [], isDefault: false, currentVersion: null, configVars: {} }).lock,
    null,
  );
  assert.equal(store.createRelease(release("gone")).version, 1);
});
