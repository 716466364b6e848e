import assert from "node:assert/strict";
import { test } from "node:test";
import { lintSql } from "../src/lint/runner.js";

async function found(sql: string): Promise<string[]> {
  return (await lintSql(sql, "m.sql", { lockTimeout: true })).map((v) => `${v.line}:${v.severity}:${v.rule}`);
}

test("suppressions: baton:allow on the line before, or trailing the statement, suppresses that rule there only", async () => {
  const sql = [
    "-- baton:allow drop-column v12 stopped reading it",
    "ALTER TABLE users DROP COLUMN a;",
    "ALTER TABLE users DROP COLUMN b; -- baton:allow drop-column v12 stopped reading it",
    "ALTER TABLE users DROP COLUMN c;",
  ].join("\n");
  assert.deepEqual(await found(sql), ["4:error:drop-column"]);
});

test("suppressions: a trailing comment belongs to the last statement that ends on its line", async () => {
  const sql = "ALTER TABLE a DROP COLUMN x; ALTER TABLE b DROP COLUMN y; -- baton:allow drop-column b.y is unused";
  // The suppression names drop-column only: the lock held on a while b's is awaited is still said.
  assert.deepEqual(await found(sql), ["1:error:drop-column", "1:warning:statements-after-exclusive-lock"]);
  const [violation] = await lintSql(sql, "m.sql", { lockTimeout: true });
  assert.match(violation?.message ?? "", /column x of a/);
});

test("suppressions: several rules and a multi-line statement; C-style comments too", async () => {
  const sql = [
    "/* baton:allow drop-column,rename-column the old release is gone (single instance app) */",
    "ALTER TABLE users",
    "  DROP COLUMN a;",
    "-- baton:allow rename-column reviewed",
    "ALTER TABLE users",
    "  RENAME COLUMN x TO y;",
  ].join("\n");
  assert.deepEqual(await found(sql), ["1:warning:unused-suppression"]);
});

test("suppressions: baton:allow-file applies anywhere in the file", async () => {
  const sql = "ALTER TABLE users DROP COLUMN a;\nTRUNCATE sessions;\n-- baton:allow-file drop-column cleanup release\n";
  assert.deepEqual(await found(sql), ["2:warning:statements-after-exclusive-lock", "2:error:truncate"]);
});

test("suppressions: unused, unknown-rule and reason-less suppressions are warnings", async () => {
  const sql = [
    "-- baton:allow drop-table nothing here drops a table",
    "ALTER TABLE users DROP COLUMN a;",
    "-- baton:allow drop-colum typo in the rule id",
    "-- baton:allow-file truncate",
    "-- baton:alow drop-column misspelt directive",
    "-- baton:allow-file drop-database never dropped",
    "SELECT 1;",
  ].join("\n");
  const violations = await lintSql(sql, "m.sql", { lockTimeout: true });
  assert.deepEqual(
    violations.map((v) => `${v.line}:${v.rule}`),
    [
      "1:unused-suppression",
      "2:drop-column",
      "3:invalid-suppression",
      "4:invalid-suppression",
      "5:invalid-suppression",
      "6:unused-suppression",
    ],
  );
  assert.match(violations[0]?.message ?? "", /no drop-table violation on the statement at line 2/);
  assert.match(violations[3]?.message ?? "", /needs a reason/);
  assert.ok(violations.every((v) => v.rule === "drop-column" || v.severity === "warning"));
});

test("suppressions: a comment before a DO block covers the statements inside it", async () => {
  const sql =
    "-- baton:allow drop-column moved to the archive table in v7\nDO $$ BEGIN\n  ALTER TABLE users DROP COLUMN a;\nEND $$;";
  assert.deepEqual(await found(sql), []);
});

test("suppressions: a syntax error can be allowed for the file, and is reported otherwise", async () => {
  assert.deepEqual(await found("\\set ON_ERROR_STOP on\nSELECT 1;"), ["1:error:syntax-error"]);
  assert.deepEqual(await found("-- baton:allow-file syntax-error psql script\n\\set ON_ERROR_STOP on\nSELECT 1;"), []);
});
