import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsIn, violationsOf } from "../src/lint/testing.js";

const RULE = "drop-index-non-concurrent";

test("drop-index-non-concurrent: flags each index of a plain DROP INDEX, naming the table when known", async () => {
  const sources = [
    { file: "1.sql", sql: "CREATE INDEX users_email_idx ON users (email);", applied: true },
    { file: "2.sql", sql: "DROP INDEX IF EXISTS users_email_idx, audit.old_idx;" },
  ];
  const found = await violationsIn(RULE, sources);
  assert.deepEqual(summarize(found), [`1:${RULE}`, `1:${RULE}`]);
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on users_email_idx and on users until the transaction ends");
  assert.match(found[0]?.message ?? "", /every read and write of users waits/);
  assert.match(found[0]?.safe ?? "", /DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;/);
  assert.match(found[1]?.safe ?? "", /DROP INDEX CONCURRENTLY IF EXISTS audit\.old_idx;/);
});

test("drop-index-non-concurrent: CONCURRENTLY passes, and an index of a table created in the same file", async () => {
  assert.deepEqual(await violationsOf(RULE, "-- baton:no-transaction\nDROP INDEX CONCURRENTLY users_email_idx;"), []);
  const fresh =
    "CREATE TABLE invoices (id bigint);\nCREATE INDEX invoices_id_idx ON invoices (id);\nDROP INDEX invoices_id_idx;";
  assert.deepEqual(await violationsOf(RULE, fresh), []);
  // Other DROPs are not this rule's business.
  assert.deepEqual(await violationsOf(RULE, "DROP TABLE old_things;"), []);
});

test("drop-index-non-concurrent: an index renamed since it was created still maps to its table", async () => {
  const sql = "CREATE TABLE t (id int);\nCREATE INDEX t_a ON t (id);\nALTER INDEX t_a RENAME TO t_b;\nDROP INDEX t_b;";
  assert.deepEqual(await violationsOf(RULE, sql), []);
});
