// Migrations end to end with a real PostgreSQL (test/postgres.ts): the real CLI and `baton server`
// deploy examples/migrations-app, copied per code version, under continuous load (reads and
// inserts through the router). Expand before the switch, refuse an unsafe contract, contract in
// postdeploy after the old release stopped, roll back a failing migration, and the release phase's
// advisory lock and lock_timeout, each checked in the database itself.
import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { waitFor } from "../src/core/wait.js";
import { LoadRun, type WindowStats } from "../src/load/load.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  children,
  type DeployJson,
  explainedWith,
  type InstanceJson,
  indent,
  killGroup,
  note,
  parseJson,
  cli as runCli,
  type ServerProc,
  type StepJson,
  startServer as startBatonServer,
} from "./e2e-harness.js";
import { cleanup, http, tmpHome } from "./helpers.js";
import { type Postgres, startPostgres } from "./postgres.js";

/** The example is plain JS and not compiled, so it is read from the source tree. */
const EXAMPLE = fileURLToPath(new URL("../../examples/migrations-app", import.meta.url));
/**
 * The release dir never has node_modules (stage skips them, and `npm install` would need the
 * registry): the copies build with `true` and find `pg` in baton's own node_modules via NODE_PATH.
 */
const NODE_MODULES = fileURLToPath(new URL("../../node_modules", import.meta.url));
const APP = "items";
const HOST = `${APP}.localhost`;
const DEPLOY_TIMEOUT_MS = 60_000;
const COMMAND_TIMEOUT_MS = 20_000;

const ADD_NOTE = "ALTER TABLE items ADD COLUMN note text;\n";
const DROP_NOTE = "ALTER TABLE items DROP COLUMN note;\n";
/** Its first statement would change the schema; the second fails, so the whole file must roll back. */
const BROKEN = "ALTER TABLE items ADD COLUMN tag text;\nINSERT INTO no_such_table (id) VALUES (1);\n";
const ADD_TAG = "ALTER TABLE items ADD COLUMN tag text;\n";
/** The contract recorded for databases built from scratch, once the postdeploy has dropped it here. */
const RECORDED_DROP =
  "-- baton:allow drop-column the code stopped reading note in v3; its postdeploy dropped it\nALTER TABLE items DROP COLUMN IF EXISTS note;\n";
const AFTER_CONTRACT = { "002_add_note.sql": ADD_NOTE, "003_drop_note.sql": RECORDED_DROP };
const APPLIED_AFTER_CONTRACT = ["001_create_items.sql", "002_add_note.sql", "003_drop_note.sql"];
const BASE_COLUMNS = ["id", "name", "created_at"];
const NOTE_COLUMNS = [...BASE_COLUMNS, "note"];

// ---- what the CLI prints ----

/** The server and the commands get no PG* variables of the caller: only what the app sets. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("PG") && key !== "DATABASE_URL" && key !== "NODE_PATH") env[key] = value;
  }
  return env;
}

// ---- the app, in code versions ----

interface Variant {
  /** code-version.json `version`: what GET / answers. */
  label: string;
  /** The columns this code version reads (code-version.json `columns`). */
  columns: string[];
  /** Migration files besides the example's own (001), by name. */
  migrations?: Record<string, string>;
  procfile?: string;
  postdeploy?: string;
}

/** One LoadRun on the wall clock: reads and inserts through the router for the whole file. */
class Load {
  private readonly run: LoadRun;
  private readonly epoch: number;

  constructor(port: number) {
    const body = JSON.stringify({ name: "from the load", note: "a note" });
    this.run = new LoadRun({
      port,
      hostHeader: HOST,
      connections: 4,
      maxDurationMs: 150_000,
      maxRequests: 2_000_000,
      requestTimeoutMs: 20_000,
      requests: [
        { path: "/items" },
        { method: "POST", path: "/items", body, headers: { "content-type": "application/json" } },
        { path: "/" },
      ],
    }).start();
    this.epoch = Date.now() - this.run.now();
  }

  window(fromMs: number, toMs = Date.now()): WindowStats {
    return this.run.window(fromMs - this.epoch, toMs - this.epoch);
  }

  count(): number {
    return this.run.samples.length;
  }

  stop(): Promise<WindowStats> {
    return this.run.stop();
  }
}

describe("migrations end to end: a real PostgreSQL, the real CLI and server, under load", () => {
  const home = tmpHome();
  const work = tmpHome();
  let db: Postgres | undefined;
  let port = 0;
  let server: ServerProc | undefined;
  let routerPid: number | undefined;
  let load: Load | undefined;
  let serial = 0;
  let currentLabel = "";
  let current = 0;
  let lastDeployId = 0;

  const baton = (args: string[], timeoutMs = COMMAND_TIMEOUT_MS) => runCli(home, args, timeoutMs, cleanEnv());
  const pgdb = (): Postgres => {
    assert.ok(db !== undefined, "PostgreSQL did not start (see the before hook)");
    return db;
  };

  const variant = (v: Variant): string => {
    const dir = join(work, `app-${++serial}-${v.label}`);
    cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => basename(src) !== "node_modules" });
    writeFileSync(join(dir, "code-version.json"), JSON.stringify({ version: v.label, columns: v.columns }));
    for (const [name, sql] of Object.entries(v.migrations ?? {})) writeFileSync(join(dir, "migrations", name), sql);
    const appJson = JSON.parse(readFileSync(join(dir, "app.json"), "utf8")) as Record<string, Record<string, unknown>>;
    // Seeded as config vars on the first deploy (Heroku's app.json env), kept by every later release.
    appJson.env = {
      DATABASE_URL: { value: pgdb().url },
      NODE_PATH: { value: NODE_MODULES },
    };
    appJson.baton = { ...appJson.baton, build: "true" };
    if (v.postdeploy !== undefined) appJson.scripts = { dokku: { postdeploy: v.postdeploy } };
    writeFileSync(join(dir, "app.json"), JSON.stringify(appJson, null, 2));
    if (v.procfile !== undefined) writeFileSync(join(dir, "Procfile"), v.procfile);
    return dir;
  };

  const startServer = async (): Promise<void> => {
    server = await startBatonServer(home, port, cleanEnv());
    routerPid = server.router.pid;
  };

  const deploy = async (dir: string): Promise<DeployJson> => {
    const result = await baton(["deploy", dir, "--app", APP, "--json"], DEPLOY_TIMEOUT_MS);
    const json = parseJson<DeployJson>(result);
    assert.equal(result.code, json.status === "succeeded" && json.error === null ? 0 : 1, "exit code");
    lastDeployId = Math.max(lastDeployId, json.id);
    note(`deploy ${json.id} output:\n${indent(deployLog(json.id))}`);
    return json;
  };

  const deployLog = (id: number): string => {
    try {
      return readFileSync(join(home, "apps", APP, "logs", `deploy.${id}.log`), "utf8");
    } catch {
      return "";
    }
  };

  const ps = async (): Promise<InstanceJson[]> => {
    const result = await baton(["ps", "--app", APP, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const value = parseJson<InstanceJson[] | { instances: InstanceJson[] }>(result);
    return Array.isArray(value) ? value : value.instances;
  };

  const running = async (): Promise<InstanceJson[]> => (await ps()).filter((i) => i.state === "running");

  /** What users get from GET / now (several requests, so both instances answer). */
  const servedVersions = async (): Promise<string[]> => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const reply = await http(port, "/", { headers: { host: HOST } });
      assert.equal(reply.status, 200, reply.body);
      seen.add((JSON.parse(reply.body) as { version: string }).version);
    }
    return [...seen];
  };

  const columns = async (): Promise<string[]> =>
    (
      await pgdb().query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position",
      )
    ).map((r) => r.column_name);

  const applied = async (): Promise<string[]> =>
    (await pgdb().query<{ name: string }>("SELECT name FROM schema_migrations ORDER BY name")).map((r) => r.name);

  const advisoryLocks = () =>
    pgdb().query<{ classid: string; objid: string; granted: boolean; application_name: string }>(
      `SELECT l.classid::text, l.objid::text, l.granted, a.application_name
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );

  const assertSucceeded = (d: DeployJson, what: string): void => {
    assert.equal(d.status, "succeeded", `${what}: ${JSON.stringify(d.error)}`);
    assert.equal(d.error, null, `${what}: ${JSON.stringify(d.error)}`);
    assert.equal(d.failedRequests, 0, `${what}: the router counted failed requests`);
    for (const step of d.steps) assert.notEqual(step.status, "failed", `${what}: step ${step.name} failed`);
  };

  const step = (d: DeployJson, name: string): StepJson | undefined => d.steps.find((s) => s.name === name);

  const assertNoFailures = (from: number, what: string): void => {
    assert.ok(load !== undefined, "no load running");
    const stats = load.window(from);
    assert.ok(stats.requests > 20, `${what}: too little load to prove anything (${stats.requests} requests)`);
    assert.equal(
      stats.failed,
      0,
      `${what}: ${stats.failed} of ${stats.requests} failed: ${JSON.stringify(stats.failures)}`,
    );
  };

  /** A failed deploy: the old release serves on the same processes, nothing of the new one runs. */
  const assertUntouched = async (d: DeployJson, before: InstanceJson[], what: string): Promise<void> => {
    assert.equal(d.failedRequests, 0, `${what}: the router counted failed requests`);
    assert.ok(!d.steps.some((s) => s.name === "switch" && s.status === "succeeded"), `${what}: traffic moved`);
    assert.ok(!d.steps.some((s) => s.name === "boot"), `${what}: instances of the failed release were started`);
    assert.deepEqual(await servedVersions(), [currentLabel], `${what}: users see another release`);
    const now = await running();
    assert.deepEqual(
      now.map((i) => `${i.version}:${i.pid}`).sort(),
      before.map((i) => `${i.version}:${i.pid}`).sort(),
      `${what}: the serving instances changed`,
    );
    assert.ok(
      now.every((i) => i.version === current),
      `${what}: instances of another release run: ${JSON.stringify(now)}`,
    );
  };

  /** Show the transcript and the PostgreSQL log when a test failed, and only then. */
  const explained = explainedWith(() => `---- postgres.log ----\n${db?.log() ?? ""}\n`);

  before(async () => {
    db = await startPostgres({ database: "items" });
    port = await freePort();
    await startServer();
  });

  after(async () => {
    await load?.stop();
    const instances: number[] = [];
    if (server !== undefined) {
      instances.push(...(await ps().catch(() => [])).map((i) => i.pid));
      const down = await baton(["shutdown"], 30_000);
      if (down.code !== 0) note(`shutdown failed: ${down.stderr}`);
      await Promise.race([server.exited, new Promise((resolve) => setTimeout(resolve, 15_000).unref())]);
    }
    // Whatever shutdown missed: instances, the router, servers, commands.
    for (const pid of instances) killGroup(pid);
    if (routerPid !== undefined) killGroup(routerPid);
    for (const child of children) child.kill("SIGKILL");
    await db?.stop();
    await cleanup();
  });

  test(
    "v1 → v2 adds a nullable column under load: zero failed requests, the column exists, v2 reads and writes it",
    explained(async () => {
      const v1 = await deploy(variant({ label: "v1", columns: BASE_COLUMNS }));
      assertSucceeded(v1, "deploy v1");
      current = v1.version as number;
      currentLabel = "v1";
      assert.equal(step(v1, "lint")?.status, "succeeded");
      assert.equal(step(v1, "release")?.details.migrationLock, true, "the release phase took the migration lock");
      assert.deepEqual(await applied(), ["001_create_items.sql"]);
      assert.deepEqual(await columns(), BASE_COLUMNS);
      assert.deepEqual(await servedVersions(), ["v1"]);

      load = new Load(port);
      const from = Date.now();
      await waitFor("load to flow", () => ((load?.count() ?? 0) > 100 ? true : undefined), { timeoutMs: 10_000 });

      const v2 = await deploy(
        variant({ label: "v2", columns: NOTE_COLUMNS, migrations: { "002_add_note.sql": ADD_NOTE } }),
      );
      assertSucceeded(v2, "deploy v2");
      assert.equal(v2.fromVersion, current);
      current = v2.version as number;
      currentLabel = "v2";
      assert.match(deployLog(v2.id), /checking 1 new migration: 002_add_note\.sql/);
      assert.match(deployLog(v2.id), /applying 002_add_note\.sql/);
      assert.deepEqual(await applied(), ["001_create_items.sql", "002_add_note.sql"]);
      assert.deepEqual(await columns(), NOTE_COLUMNS);
      assert.deepEqual(await servedVersions(), ["v2"]);

      const posted = await http(port, "/items", {
        method: "POST",
        headers: { host: HOST, "content-type": "application/json" },
        body: JSON.stringify({ name: "written by v2", note: "kept" }),
      });
      assert.equal(posted.status, 201, posted.body);
      const item = (JSON.parse(posted.body) as { item: { id: string; note: string } }).item;
      assert.equal(item.note, "kept");
      const stored = await pgdb().query<{ note: string }>("SELECT note FROM items WHERE id = $1", [item.id]);
      assert.deepEqual(stored, [{ note: "kept" }]);
      const listed = await http(port, "/items", { headers: { host: HOST } });
      const rows = (JSON.parse(listed.body) as { items: Array<Record<string, unknown>> }).items;
      assert.ok(rows.length > 0 && rows.every((r) => "note" in r), `v2 reads note: ${listed.body.slice(0, 300)}`);
      // v1 kept working while the column appeared under it: its inserts are there too.
      const byV1 = await pgdb().query<{ n: string }>("SELECT count(*) AS n FROM items WHERE note IS NULL");
      assert.ok(Number(byV1[0]?.n) > 0, "no rows inserted by v1 (which does not write note)");

      assertNoFailures(from, "load during v1 → v2");
    }),
  );

  test(
    "v3 drops the column v2 still reads: refused by the lint step before any SQL runs, v2 keeps serving",
    explained(async () => {
      assert.equal(currentLabel, "v2", "needs v2 live (the first test)");
      const from = Date.now();
      const before = await running();
      const migrationsBefore = await applied();
      const d = await deploy(
        variant({
          label: "v3-drop",
          columns: BASE_COLUMNS,
          migrations: { "002_add_note.sql": ADD_NOTE, "003_drop_note.sql": DROP_NOTE },
        }),
      );
      assert.equal(d.status, "failed");
      assert.equal(d.error?.code, "BATON_MIGRATION_UNSAFE", JSON.stringify(d.error));
      assert.match(d.error?.message ?? "", /003_drop_note\.sql:1: drop-column/);
      assert.ok((d.error?.hint ?? "").length > 0, "no hint");
      assert.equal(step(d, "lint")?.status, "failed");
      assert.equal(step(d, "release"), undefined, `the release step ran: ${JSON.stringify(d.steps)}`);
      const log = deployLog(d.id);
      assert.match(log, /drop-column/);
      assert.match(log, /instead:/, "the safe sequence is shown");
      assert.doesNotMatch(log, /migration session:|applying /, "the release command ran");
      // Nothing ran in the database.
      assert.deepEqual(await columns(), NOTE_COLUMNS);
      assert.deepEqual(await applied(), migrationsBefore);
      await assertUntouched(d, before, "v3 with DROP COLUMN");
      assertNoFailures(from, "load during the refused deploy");
    }),
  );

  test(
    "expand/contract: v3 stops reading the column, its postdeploy drops it after v2 stopped, zero failed requests",
    explained(async () => {
      assert.equal(currentLabel, "v2", "needs v2 live");
      const from = Date.now();
      const v2Pids = (await running()).map((i) => i.pid);
      // lock_timeout: DROP COLUMN takes ACCESS EXCLUSIVE for an instant, but while it waits for it
      // every query on items queues behind it. 5 s bounds that stall (as baton's release phase does).
      const contract = `psql -X -v ON_ERROR_STOP=1 -c "SET lock_timeout = '5s'" -c "ALTER TABLE items DROP COLUMN IF EXISTS note" "$DATABASE_URL" && echo "old pids alive: $(for p in ${v2Pids.join(" ")}; do kill -0 $p 2>/dev/null && echo $p; done)"`;
      const d = await deploy(
        variant({
          label: "v3",
          columns: BASE_COLUMNS,
          migrations: { "002_add_note.sql": ADD_NOTE },
          postdeploy: contract,
        }),
      );
      assertSucceeded(d, "deploy v3 with the contract in postdeploy");
      current = d.version as number;
      currentLabel = "v3";
      assert.equal(step(d, "postdeploy")?.status, "succeeded");
      const names = d.steps.map((s) => s.name);
      assert.ok(names.indexOf("postdeploy") > names.indexOf("stop"), `steps out of order: ${names.join(", ")}`);
      const log = deployLog(d.id);
      assert.match(log, /no new migrations in migrations/);
      assert.match(log, /ALTER TABLE/);
      assert.match(log, /old pids alive: *\n/, "the contract ran while an old instance was alive");
      assert.deepEqual(await columns(), BASE_COLUMNS);
      assert.deepEqual(await applied(), ["001_create_items.sql", "002_add_note.sql"]);
      assert.deepEqual(await servedVersions(), ["v3"]);
      const listed = await http(port, "/items", { headers: { host: HOST } });
      assert.equal(listed.status, 200, listed.body);

      // The drop recorded as a migration for new databases: a reviewed exception passes the lint.
      const recorded = await deploy(
        variant({ label: "v3-recorded", columns: BASE_COLUMNS, migrations: AFTER_CONTRACT }),
      );
      assertSucceeded(recorded, "deploy of the recorded contract");
      current = recorded.version as number;
      currentLabel = "v3-recorded";
      assert.equal(step(recorded, "lint")?.status, "succeeded");
      assert.match(deployLog(recorded.id), /checking 1 new migration: 003_drop_note\.sql/);
      assert.deepEqual(await applied(), APPLIED_AFTER_CONTRACT);
      assert.deepEqual(await columns(), BASE_COLUMNS);
      assertNoFailures(from, "load during expand/contract");
    }),
  );

  test(
    "a migration that fails rolls back in its transaction: deploy fails in the release step, schema and traffic untouched",
    explained(async () => {
      assert.equal(currentLabel, "v3-recorded", "needs the contract done");
      const from = Date.now();
      const before = await running();
      const migrationsBefore = await applied();
      const d = await deploy(
        variant({
          label: "v4-broken",
          columns: BASE_COLUMNS,
          migrations: { ...AFTER_CONTRACT, "004_broken.sql": BROKEN },
        }),
      );
      assert.equal(d.status, "failed");
      assert.equal(d.error?.code, "BATON_RELEASE_PHASE_FAILED", JSON.stringify(d.error));
      assert.ok((d.error?.hint ?? "").length > 0, "no hint");
      assert.equal(step(d, "lint")?.status, "succeeded", "the broken migration is not unsafe, only wrong");
      assert.equal(step(d, "release")?.status, "failed");
      assert.match(deployLog(d.id), /no_such_table/, "psql's error is in the deploy output");
      assert.deepEqual(await columns(), BASE_COLUMNS, "the ALTER before the failing statement was rolled back");
      assert.deepEqual(await applied(), migrationsBefore);
      assert.deepEqual(await advisoryLocks(), [], "the migration lock was released");
      await assertUntouched(d, before, "a failing release phase");
      assertNoFailures(from, "load during the failed release phase");
    }),
  );

  test(
    "the release phase holds the app's advisory lock with lock_timeout 5s; a lock held elsewhere makes it wait",
    explained(async () => {
      assert.equal(currentLabel, "v3-recorded", "needs the contract done");
      const from = Date.now();
      // The release command waits for a gate file, so the lock can be seen while it is held.
      const gate = join(work, "gate");
      const d5 = deploy(
        variant({
          label: "v5",
          columns: BASE_COLUMNS,
          migrations: { ...AFTER_CONTRACT, "004_add_tag.sql": ADD_TAG },
          procfile: `web: node server.js\nrelease: sh -c 'n=0; while [ ! -e ${gate} ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done; sh ./migrate.sh'\n`,
        }),
      );
      // Handled here too: a failure before the await below must not leave an unhandled rejection.
      d5.catch(() => undefined);
      let key: bigint;
      try {
        const held = await waitFor(
          "the release phase to hold an advisory lock",
          async () => {
            const locks = await advisoryLocks();
            return locks.length > 0 ? locks : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 50 },
        );
        assert.equal(held.length, 1, JSON.stringify(held));
        const lock = held[0] as (typeof held)[number];
        assert.equal(lock.application_name, "baton release lock");
        assert.equal(lock.granted, true);
        // A bigint advisory key shows as classid (high 32 bits) and objid (low 32 bits).
        key = BigInt.asIntN(64, (BigInt(lock.classid) << 32n) | BigInt(lock.objid));
        const other = await pgdb().query<{ got: boolean }>("SELECT pg_try_advisory_lock($1) AS got", [key.toString()]);
        assert.deepEqual(other, [{ got: false }], "another session took the migration lock");
        assert.deepEqual(await applied(), APPLIED_AFTER_CONTRACT, "migrated before the gate opened");
      } finally {
        writeFileSync(gate, "");
      }
      const v5 = await d5;
      assertSucceeded(v5, "deploy v5 (gated release command)");
      current = v5.version as number;
      currentLabel = "v5";
      const log5 = deployLog(v5.id);
      assert.match(log5, /PGOPTIONS: lock_timeout 5s/);
      assert.match(log5, /migration session: lock_timeout=5s, statement_timeout=(?!0\b)\S+/);
      assert.deepEqual(await applied(), [...APPLIED_AFTER_CONTRACT, "004_add_tag.sql"]);
      assert.deepEqual(await columns(), [...BASE_COLUMNS, "tag"]);
      assert.deepEqual(await advisoryLocks(), [], "the migration lock was released after the release phase");

      // Another server (here: this test's session) migrating the same app: the release phase waits.
      const holder: pg.Client = await pgdb().connect("another baton");
      let released = false;
      try {
        await holder.query("SELECT pg_advisory_lock($1)", [key.toString()]);
        const d6 = deploy(
          variant({
            label: "v6",
            columns: BASE_COLUMNS,
            migrations: { ...AFTER_CONTRACT, "004_add_tag.sql": ADD_TAG },
          }),
        );
        d6.catch(() => undefined);
        const waiting = await waitFor(
          "the next release phase to wait for the lock",
          () => {
            const id = lastDeployId + 1;
            const log = deployLog(id);
            return /waiting for another release phase of this app/.test(log) ? log : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 50 },
        );
        assert.doesNotMatch(
          waiting,
          /\$ sh \.\/migrate\.sh|migration session:/,
          "the release command ran without the lock",
        );
        await holder.query("SELECT pg_advisory_unlock($1)", [key.toString()]);
        released = true;
        const v6 = await d6;
        assertSucceeded(v6, "deploy v6 after the lock was released");
        current = v6.version as number;
        currentLabel = "v6";
        assert.match(
          deployLog(v6.id),
          /waiting for another release phase[\s\S]*\$ sh \.\/migrate\.sh[\s\S]*0 migration\(s\) applied/,
        );
        assert.deepEqual(await servedVersions(), ["v6"]);
      } finally {
        if (!released) await holder.query("SELECT pg_advisory_unlock_all()").catch(() => undefined);
        await holder.end().catch(() => undefined);
      }
      assertNoFailures(from, "load during the locked release phases");
    }),
  );

  test(
    "over the whole run: zero failed requests",
    explained(async () => {
      assert.ok(load !== undefined, "needs the load of the first test");
      const total = await load.stop();
      load = undefined;
      note(`total load: ${JSON.stringify(total)}`);
      assert.ok(total.requests > 500, `too little load to prove anything: ${total.requests}`);
      assert.equal(total.failed, 0, `${total.failed} of ${total.requests} failed: ${JSON.stringify(total.failures)}`);
    }),
  );
});
