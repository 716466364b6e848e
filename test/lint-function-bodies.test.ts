import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSql } from "../src/lint/parse.js";
import { lintSources, type SqlSource } from "../src/lint/runner.js";
import { summarize, violationsIn, violationsOf } from "../src/lint/testing.js";

const NOT_NULL = "add-column-not-null-no-default";

/** A PL/pgSQL function whose body adds a NOT NULL column without a default, at line `2 + offset`. */
function backfill(name = "backfill"): string[] {
  return [
    `CREATE OR REPLACE FUNCTION ${name}() RETURNS void LANGUAGE plpgsql AS $$`,
    "BEGIN",
    "  ALTER TABLE users ADD COLUMN plan text NOT NULL;",
    "  UPDATE users SET plan = 'free';",
    "END",
    "$$;",
  ];
}

test("function bodies: a called PL/pgSQL function is linted at the body's line, naming the call", async () => {
  const sql = [...backfill(), "SELECT backfill();"].join("\n");
  const found = await violationsOf(NOT_NULL, sql);
  assert.deepEqual(summarize(found), [`3:${NOT_NULL}`]);
  assert.equal(found[0]?.column, 3);
  assert.equal(found[0]?.source, "  ALTER TABLE users ADD COLUMN plan text NOT NULL;");
  assert.match(found[0]?.message ?? "", /NOT NULL column plan to users without a default/);
  assert.match(found[0]?.message ?? "", / \(in function backfill, run by the statement at line 7\)$/);
});

test("function bodies: a function that is only created runs nothing and is not linted", async () => {
  assert.deepEqual(await violationsOf(NOT_NULL, backfill().join("\n")), []);
  // Mentioning it where it does not run (a view) is not a call either.
  const view = [...backfill(), "CREATE VIEW v AS SELECT backfill();"].join("\n");
  assert.deepEqual(await violationsOf(NOT_NULL, view), []);
});

test("function bodies: a LANGUAGE sql body, called in a FROM clause and with a schema", async () => {
  const sql = [
    "CREATE FUNCTION public.reindex_users() RETURNS SETOF int LANGUAGE sql AS $$",
    "  -- the index the new release needs",
    "  CREATE INDEX users_plan ON users (plan);",
    "  SELECT 1;",
    "$$;",
    "SELECT * FROM reindex_users();",
    "SELECT public.reindex_users();",
  ].join("\n");
  const found = await violationsOf("create-index-non-concurrent", sql);
  assert.deepEqual(summarize(found), ["3:create-index-non-concurrent", "3:create-index-non-concurrent"]);
  assert.equal(found[0]?.column, 3);
  assert.deepEqual(
    found.map((v) => /run by the statement at line (\d+)/.exec(v.message)?.[1]),
    ["6", "7"],
  );
});

test("function bodies: CREATE INDEX in a called function is a non-concurrent index build", async () => {
  const sql = [
    "CREATE FUNCTION add_index() RETURNS void LANGUAGE plpgsql AS $$",
    "BEGIN",
    "  IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'users_email') THEN",
    "    CREATE INDEX users_email ON users (email);",
    "  END IF;",
    "END $$;",
    "SELECT add_index();",
  ].join("\n");
  const found = await violationsOf("create-index-non-concurrent", sql);
  assert.deepEqual(summarize(found), ["4:create-index-non-concurrent"]);
  assert.match(
    found[0]?.message ?? "",
    /^CREATE INDEX on users blocks .*\(in function add_index, run by the statement at line 7\)$/,
  );
});

test("function bodies: CALL of a procedure runs its body, in one transaction with the call", async () => {
  const sql = [
    "CREATE PROCEDURE migrate_plans(p text) LANGUAGE plpgsql AS $$",
    "BEGIN",
    "  ALTER TABLE users ADD COLUMN plan text NOT NULL;",
    "  CREATE INDEX CONCURRENTLY users_plan ON users (plan);",
    "END $$;",
    "CALL migrate_plans('free');",
  ].join("\n");
  assert.deepEqual(summarize(await violationsOf(NOT_NULL, sql)), [`3:${NOT_NULL}`]);
  // Even in autocommit the body runs inside the CALL's transaction, where CONCURRENTLY fails.
  const concurrent = await violationsOf("concurrently-in-transaction", sql, { transaction: false });
  assert.deepEqual(summarize(concurrent), ["4:concurrently-in-transaction"]);
  assert.match(concurrent[0]?.message ?? "", /inside the function call at line 6/);
  // The call's transaction ends with the call: the next statement runs on its own again.
  const after = `${sql}\nCREATE INDEX CONCURRENTLY users_email ON users (email);`;
  assert.deepEqual(summarize(await violationsOf("concurrently-in-transaction", after, { transaction: false })), [
    "4:concurrently-in-transaction",
  ]);
});

test("function bodies: PERFORM in a DO block runs the function", async () => {
  const sql = [
    ...backfill(),
    "DO $$",
    "BEGIN",
    "  IF EXISTS (SELECT 1 FROM users) THEN",
    "    PERFORM backfill();",
    "  END IF;",
    "END $$;",
  ].join("\n");
  const found = await violationsOf(NOT_NULL, sql);
  assert.deepEqual(summarize(found), [`3:${NOT_NULL}`]);
  assert.match(found[0]?.message ?? "", /\(in function backfill, run by the statement at line 10\)$/);
  const parsed = await parseSql(sql, "m.sql");
  const inBody = parsed.statements.find((s) => s.kind === "AlterTableStmt");
  assert.equal(inBody?.parent?.kind, "DoStmt");
});

test("function bodies: a function an earlier, applied file created is linted where a new file calls it", async () => {
  const functions: SqlSource = { file: "001_functions.sql", sql: backfill().join("\n"), applied: true };
  const run: SqlSource = { file: "002_run.sql", sql: "SET lock_timeout = '2s';\nSELECT backfill();" };
  const found = await violationsIn(NOT_NULL, [functions, run]);
  // The body is in another file: the violation is placed at the call.
  assert.deepEqual(
    found.map((v) => [v.file, v.line, v.source]),
    [["002_run.sql", 2, "SELECT backfill();"]],
  );
  assert.match(found[0]?.message ?? "", /\(in function backfill, run by the statement at line 2\)$/);
  // The latest definition wins: replaced by a harmless one, the call is fine.
  const replace: SqlSource = {
    file: "002_replace.sql",
    sql: "CREATE OR REPLACE FUNCTION backfill() RETURNS void LANGUAGE sql AS $$ SELECT 1 $$;",
    applied: true,
  };
  assert.deepEqual(await violationsIn(NOT_NULL, [functions, replace, run]), []);
  // A dropped function is no longer there to call.
  const drop: SqlSource = { file: "002_drop.sql", sql: "DROP FUNCTION backfill();", applied: true };
  assert.deepEqual(await violationsIn(NOT_NULL, [functions, drop, run]), []);
});

test("function bodies: nested calls are followed, recursion terminates", async () => {
  const sql = [
    "CREATE FUNCTION inner_step() RETURNS void LANGUAGE sql AS $$ ALTER TABLE users ADD COLUMN plan text NOT NULL $$;",
    "CREATE FUNCTION outer_step(n int) RETURNS void LANGUAGE plpgsql AS $$",
    "BEGIN",
    "  PERFORM inner_step();",
    "  IF n > 0 THEN PERFORM outer_step(n - 1); END IF;",
    "END $$;",
    "SELECT outer_step(10);",
  ].join("\n");
  const found = await violationsOf(NOT_NULL, sql);
  assert.deepEqual(summarize(found), [`1:${NOT_NULL}`]);
  assert.match(
    found[0]?.message ?? "",
    /\(in function inner_step, called by outer_step, run by the statement at line 7\)$/,
  );

  const mutual = [
    "CREATE FUNCTION ping() RETURNS void LANGUAGE sql AS $$ SELECT 1 $$;",
    "CREATE FUNCTION pong() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM ping(); END $$;",
    "CREATE OR REPLACE FUNCTION ping() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM pong(); ALTER TABLE users ADD COLUMN a int NOT NULL; END $$;",
    "SELECT ping();",
  ].join("\n");
  const parsed = await parseSql(mutual, "m.sql");
  // ping's body (PERFORM pong is an expression, not a statement), then nothing more: pong calls ping again.
  assert.deepEqual(
    parsed.statements.filter((s) => s.parent !== undefined).map((s) => s.text),
    ["ALTER TABLE users ADD COLUMN a int NOT NULL"],
  );
  assert.deepEqual(summarize(await violationsOf(NOT_NULL, mutual)), [`3:${NOT_NULL}`]);
});

test("function bodies: a suppression above the call or above the CREATE FUNCTION covers the body", async () => {
  const allow = `-- baton:allow ${NOT_NULL} users is empty in every environment`;
  const aboveCall = [...backfill(), allow, "SELECT backfill();"].join("\n");
  const aboveCreate = [allow, ...backfill(), "SELECT backfill();"].join("\n");
  const neither = [...backfill(), "SELECT backfill();", allow, "SELECT 1;"].join("\n");
  const run = async (sql: string) =>
    summarize(await lintSources([{ file: "m.sql", sql }], { lockTimeout: true })).filter(
      (s) => s.endsWith(NOT_NULL) || s.endsWith("suppression"),
    );
  assert.deepEqual(await run(aboveCall), []);
  assert.deepEqual(await run(aboveCreate), []);
  assert.deepEqual(await run(neither), [`3:${NOT_NULL}`, "8:unused-suppression"]);
});
