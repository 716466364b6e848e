// The deploy's lint step with DATABASE_URL reads the live schema: a column type changed outside the
// migrations is judged by what the database really has. A real PostgreSQL (test/postgres.ts).
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { ResolvedConfig } from "../src/config/resolve.js";
import { lintNewMigrations } from "../src/deploy/lint-migrations.js";
import type { StepContext } from "../src/deploy/step-recorder.js";
import type { ReleaseRecord } from "../src/store/store.js";
import { cleanup, tmpHome } from "./helpers.js";
import { type Postgres, startPostgres } from "./postgres.js";

let db: Postgres;
before(async () => {
  db = await startPostgres();
  // Made by hand, not by any migration file: only the catalog knows its column types.
  await db.query("CREATE TABLE legacy (id bigint PRIMARY KEY, name varchar(50) NOT NULL)");
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
  assert.match(seeing.output, /read the live schema: 1 table/);
  assert.doesNotMatch(seeing.output, /change-column-type/, seeing.output);
  assert.equal(seeing.error, undefined);
});

test("a rewriting type change of that column is an error either way", async () => {
  const sql = "SET lock_timeout = '2s';\nALTER TABLE legacy ALTER COLUMN name TYPE integer USING name::integer;\n";
  const seeing = await lint(sql, { DATABASE_URL: db.url });
  assert.match(seeing.output, /error {2}change-column-type/, seeing.output);
  assert.match(seeing.error?.message ?? "", /change-column-type/);
});
