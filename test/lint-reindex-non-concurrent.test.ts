import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsIn, violationsOf } from "../src/lint/testing.js";

const RULE = "reindex-non-concurrent";

test("reindex-non-concurrent: flags REINDEX INDEX, TABLE and SCHEMA without CONCURRENTLY", async () => {
  const sql = "REINDEX INDEX users_email_idx;\nREINDEX TABLE users;\nREINDEX (CONCURRENTLY false) SCHEMA app;";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [`1:${RULE}`, `2:${RULE}`, `3:${RULE}`]);
  assert.match(found[0]?.safe ?? "", /REINDEX INDEX CONCURRENTLY users_email_idx;/);
  assert.match(found[1]?.lock ?? "", /^SHARE on users and ACCESS EXCLUSIVE on each index/);
  assert.match(found[1]?.message ?? "", /most reads of users wait too/);
  assert.match(found[2]?.safe ?? "", /REINDEX SCHEMA CONCURRENTLY app;/);
});

test("reindex-non-concurrent: before PostgreSQL 12 the safe form builds a copy and swaps it in", async () => {
  const found = await violationsOf(RULE, "REINDEX INDEX users_email_idx;", { pgVersion: 11 });
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.match(found[0]?.safe ?? "", /CREATE INDEX CONCURRENTLY <index>_new/);
  assert.doesNotMatch(found[0]?.safe ?? "", /REINDEX INDEX CONCURRENTLY/);
});

test("reindex-non-concurrent: CONCURRENTLY passes, and tables created in the same file", async () => {
  const concurrent =
    "-- baton:no-transaction\nREINDEX INDEX CONCURRENTLY users_email_idx;\nREINDEX (CONCURRENTLY) TABLE users;";
  assert.deepEqual(await violationsOf(RULE, concurrent), []);
  const fresh = "CREATE TABLE t (id int);\nCREATE INDEX t_id ON t (id);\nREINDEX TABLE t;\nREINDEX INDEX t_id;";
  assert.deepEqual(await violationsOf(RULE, fresh), []);
  // The index's table was created by an earlier file: it may hold rows now.
  const earlier = [
    { file: "1.sql", sql: "CREATE TABLE t (id int);\nCREATE INDEX t_id ON t (id);" },
    { file: "2.sql", sql: "REINDEX INDEX t_id;" },
  ];
  assert.deepEqual(summarize(await violationsIn(RULE, earlier)), [`1:${RULE}`]);
});
