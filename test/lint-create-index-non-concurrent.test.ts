import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "create-index-non-concurrent";

test("create-index-non-concurrent: flags a plain CREATE INDEX on an existing table, suggesting CONCURRENTLY", async () => {
  const sql = "CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON users (lower(email));";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.equal(found[0]?.lock, "SHARE on users for the whole build: writes wait, reads go on");
  assert.match(found[0]?.safe ?? "", /CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users/);
});

test("create-index-non-concurrent: CONCURRENTLY passes, and an index on a table created in the same file", async () => {
  const concurrent = "-- baton:no-transaction\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);";
  assert.deepEqual(await violationsOf(RULE, concurrent), []);
  const fresh = "CREATE TABLE invoices (id bigint, user_id bigint);\nCREATE INDEX ON invoices (user_id);";
  assert.deepEqual(await violationsOf(RULE, fresh), []);
});
