// The deploy's lint step with DATABASE_URL reads the live schema: a column type changed outside the
// migrations is judged by what the database really has. A real PostgreSQL (test/postgres.ts).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { ResolvedConfig } from "../src/config/resolve.js";
import { lintNewMigrations } from "../src/deploy/lint-migrations.js";
import type { StepContext } from "../src/deploy/step-recorder.js";
import { lintSql } from "../src/lint/index.js";
import type { ReleaseRecord } from "../src/store/store.js";
import { cleanup, MAIN, tmpHome } from "./helpers.js";
import { type Postgres, startPostgres } from "./postgres.js";

let db: Postgres;
before(async () => {
  db = await startPostgres();
  // Made by hand, not by any migration file: only the catalog knows its column types.
  await db.query("CREATE TABLE legacy (id bigint PRIMARY KEY, name varchar(50) NOT NULL)");
  // Two analysed tables for the size ranking: the catalog's reltuples is what baton reads.
  await db.query("CREATE TABLE small (id bigint PRIMARY KEY, name text)");
  await db.query("INSERT INTO small SELECT g, 'n' || g FROM generate_series(1, 10) g");
  await db.query("CREATE TABLE big (id bigint PRIMARY KEY, name text)");
  await db.query("INSERT INTO big SELECT g, 'n' || g FROM generate_series(1, 20000) g");
  await db.query("ANALYZE small");
  await db.query("ANALYZE big");
});
after(async () => {
  await db?.stop();
  await cleanup();
});

function releaseWith(migration: string): ReleaseRecord {
  const path = tmpHome();
  mkdirSync(join(path, "migrations"));
  writeFileSync(join(path, "migrations", "001_change.sql"), migration);
  return {
    app: "a",
    version: 2,
    status: "pending",
    source: "",
    path,
    configVars: {},
    appConfig: null,
    createdAt: 0,
    pruned: false,
  };
}

const config = { migrations: { dir: "migrations", postgres: 15, strict: false } } as unknown as ResolvedConfig;

async function lint(migration: string, env: Record<string, string>): Promise<{ output: string; error?: Error }> {
  let output = "";
  const ctx: StepContext = { output: (chunk) => (output += chunk) };
  try {
    await lintNewMigrations(releaseWith(migration), undefined, config, env, ctx);
    return { output };
  } catch (error) {
    return { output, error: error as Error };
  }
}

test("a widening of a column made outside the migrations passes once the live schema is read", async () => {
  const sql = "SET lock_timeout = '2s';\nALTER TABLE legacy ALTER COLUMN name TYPE varchar(100);\n";
  const blind = await lint(sql, {});
  assert.match(blind.output, /warning {2}change-column-type/, blind.output);
  const seeing = await lint(sql, { DATABASE_URL: db.url });
  assert.match(seeing.output, /read the live schema: 3 tables/);
  assert.doesNotMatch(seeing.output, /change-column-type/, seeing.output);
  assert.equal(seeing.error, undefined);
});

test("a rewriting type change of that column is an error either way", async () => {
  const sql = "SET lock_timeout = '2s';\nALTER TABLE legacy ALTER COLUMN name TYPE integer USING name::integer;\n";
  const seeing = await lint(sql, { DATABASE_URL: db.url });
  assert.match(seeing.output, /error {2}change-column-type/, seeing.output);
  assert.match(seeing.error?.message ?? "", /change-column-type/);
});

test("with row estimates, an index build on a small table is a warning and on a big one an error naming its rows", async () => {
  const sql =
    "SET lock_timeout = '2s';\nCREATE INDEX small_name ON small (name);\nCREATE INDEX big_name ON big (name);\n";
  const blind = await lint(sql, {});
  assert.equal(blind.output.match(/error {2}create-index-non-concurrent/g)?.length, 2, blind.output);
  const seeing = await lint(sql, { DATABASE_URL: db.url });
  assert.match(seeing.output, /3 tables, 2 with row estimates/);
  assert.match(
    seeing.output,
    /:2:1 {2}warning {2}create-index-non-concurrent .*small has about 10 rows/,
    seeing.output,
  );
  assert.match(
    seeing.output,
    /:3:1 {2}error {2}create-index-non-concurrent .*big has about 20,000 rows/,
    seeing.output,
  );
  assert.match(seeing.error?.message ?? "", /1 migration problem/, "only the big table's index blocks the deploy");
});

test("size never softens a rule whose harm does not depend on it", async () => {
  const sql = "ALTER TABLE small ADD COLUMN flag boolean NOT NULL;\nALTER TABLE small DROP COLUMN name;\n";
  const seeing = await lint(sql, { DATABASE_URL: db.url });
  assert.match(seeing.output, /error {2}add-column-not-null-no-default/, seeing.output);
  assert.match(seeing.output, /error {2}drop-column/, seeing.output);
  // A lock on a small table still queues every query behind it while it waits: the missing
  // lock_timeout keeps its own severity and says nothing of size (the deploy's release phase sets
  // a lock_timeout, so this is the CLI's case).
  const waits = await lintSql("CREATE INDEX small_id2 ON small (id);\n", "001.sql", {
    tableRows: new Map([["small", 10]]),
  });
  assert.deepEqual(waits.map((v) => [v.rule, v.severity]).sort(), [
    ["create-index-non-concurrent", "warning"],
    ["require-lock-timeout", "warning"],
  ]);
  const timeout = waits.find((v) => v.rule === "require-lock-timeout");
  assert.equal(timeout?.rows, undefined);
  assert.doesNotMatch(timeout?.message ?? "", /rows/);
});

test("`baton lint --database-url` ranks by the same estimates", () => {
  const dir = tmpHome();
  writeFileSync(join(dir, "001.sql"), "SET lock_timeout = '2s';\nCREATE INDEX small_name ON small (name);\n");
  const run = spawnSync(process.execPath, [MAIN, "lint", dir, "--database-url", db.url, "--json"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const [violation] = JSON.parse(run.stdout) as Array<{ rule: string; severity: string; rows?: number }>;
  assert.deepEqual(
    { rule: violation?.rule, severity: violation?.severity, rows: violation?.rows },
    { rule: "create-index-non-concurrent", severity: "warning", rows: 10 },
  );
  const unreachable = spawnSync(
    process.execPath,
    [MAIN, "lint", dir, "--database-url", "postgresql://nobody@127.0.0.1:1/none"],
    { encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(unreachable.status, 2, unreachable.stdout + unreachable.stderr);
  assert.match(unreachable.stderr, /could not read the catalog/);
});
