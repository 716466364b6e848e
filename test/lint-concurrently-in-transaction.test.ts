import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "concurrently-in-transaction";

test("concurrently-in-transaction: flags CONCURRENTLY in the file's transaction (the default)", async () => {
  const sql = [
    "CREATE INDEX CONCURRENTLY i ON users (email);",
    "DROP INDEX CONCURRENTLY old_i;",
    "REINDEX (CONCURRENTLY) INDEX j;",
    "ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;",
  ].join("\n");
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [`1:${RULE}`, `2:${RULE}`, `3:${RULE}`, `4:${RULE}`]);
  assert.match(found[0]?.message ?? "", /wraps each file in/);
  assert.match(found[0]?.safe ?? "", /baton:no-transaction/);
});

test("concurrently-in-transaction: flags CONCURRENTLY after an explicit BEGIN, even without the file transaction", async () => {
  const sql =
    "BEGIN;\nCREATE INDEX CONCURRENTLY i ON users (email);\nCOMMIT;\nCREATE INDEX CONCURRENTLY j ON users (name);";
  const found = await violationsOf(RULE, sql, { transaction: false });
  assert.deepEqual(summarize(found), [`2:${RULE}`]);
  assert.match(found[0]?.message ?? "", /transaction opened at line 1/);
});

test("concurrently-in-transaction: passes outside a transaction (option or file directive)", async () => {
  const sql = "CREATE INDEX CONCURRENTLY i ON users (email);";
  assert.deepEqual(await violationsOf(RULE, sql, { transaction: false }), []);
  assert.deepEqual(await violationsOf(RULE, `-- baton:no-transaction\n${sql}`), []);
  // After the file's own COMMIT, the statement runs on its own.
  assert.deepEqual(await violationsOf(RULE, `COMMIT;\n${sql}`), []);
});

test("concurrently-in-transaction: a DO block is a transaction of its own", async () => {
  const sql = "-- baton:no-transaction\nDO $$\nBEGIN\n  CREATE INDEX CONCURRENTLY i ON users (email);\nEND\n$$;";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [`4:${RULE}`]);
  assert.match(found[0]?.message ?? "", /DO block at line 2/);
});

test("REINDEX (CONCURRENTLY false) is a plain REINDEX, not a concurrent one", async () => {
  const found = await violationsOf(
    "concurrently-in-transaction",
    "REINDEX (CONCURRENTLY false) INDEX users_email_idx;",
  );
  assert.deepEqual(found, []);
});
