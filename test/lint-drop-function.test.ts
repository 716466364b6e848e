import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "drop-function";

test("drop-function: flags DROP FUNCTION and DROP PROCEDURE, one per routine, as errors", async () => {
  const sql = "DROP FUNCTION IF EXISTS billing.total(int, text[]), tax CASCADE;\nDROP PROCEDURE archive_users;";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), ["1:drop-function", "1:drop-function", "2:drop-function"]);
  assert.equal(found[0]?.severity, "error");
  assert.equal(found[0]?.group, "compat");
  assert.match(found[0]?.message ?? "", /dropping function billing\.total\(int4, text\[\]\)/);
  assert.match(found[0]?.message ?? "", /function billing\.total\(\.\.\.\) does not exist/);
  assert.match(found[0]?.message ?? "", /CASCADE also drops/);
  assert.match(found[1]?.message ?? "", /dropping function tax breaks/);
  assert.match(found[2]?.message ?? "", /CALL archive_users\(\.\.\.\) fails with "procedure archive_users/);
  assert.match(found[2]?.safe ?? "", /DROP PROCEDURE archive_users;/);
  assert.match(found[2]?.safe ?? "", /postdeploy/);
});

test("drop-function: RENAME and SET SCHEMA of a function break its callers too", async () => {
  const sql = "ALTER FUNCTION total(int) RENAME TO sum_total;\nALTER ROUTINE tax(numeric) SET SCHEMA old;";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), ["1:drop-function", "2:drop-function"]);
  assert.match(found[0]?.message ?? "", /renaming function total\(int4\) to sum_total/);
  assert.match(found[1]?.message ?? "", /moving routine tax\(numeric\) to schema old/);
});

test("drop-function: a DROP inside a DO block is flagged, at its own line", async () => {
  const sql = [
    "DO $$",
    "BEGIN",
    "  IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'legacy_total') THEN",
    "    DROP FUNCTION legacy_total(int);",
    "  END IF;",
    "  EXECUTE 'DROP FUNCTION legacy_tax()';",
    "END $$;",
  ].join("\n");
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), ["4:drop-function", "6:drop-function"]);
  assert.equal(found[0]?.column, 5);
  assert.match(found[1]?.message ?? "", /legacy_tax\(\)/);
});

test("drop-function: a function this file created passes, matched by name and input types", async () => {
  const sql = [
    "CREATE FUNCTION price(a int, OUT cents int) LANGUAGE sql AS 'SELECT a * 100';",
    "DROP FUNCTION price(int);",
    "CREATE PROCEDURE tidy() LANGUAGE sql AS 'SELECT 1';",
    "ALTER PROCEDURE tidy RENAME TO tidy_up;",
    "DROP FUNCTION price(text);", // another overload, created elsewhere
    "CREATE OR REPLACE FUNCTION fee() RETURNS int LANGUAGE sql AS 'SELECT 1';",
    "DROP FUNCTION fee();", // OR REPLACE may have replaced one the running release calls
  ].join("\n");
  assert.deepEqual(summarize(await violationsOf(RULE, sql)), ["5:drop-function", "7:drop-function"]);
});

test("drop-function: the safe form (a new version beside the old one) passes", async () => {
  const sql = [
    "CREATE FUNCTION total_v2(order_id bigint) RETURNS numeric LANGUAGE sql AS 'SELECT 1';",
    "CREATE OR REPLACE FUNCTION total(order_id int) RETURNS int LANGUAGE sql AS 'SELECT 2';",
    "DROP TABLE IF EXISTS scratch;",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, sql), []);
});
