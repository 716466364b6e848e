import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsIn, violationsOf } from "../src/lint/testing.js";

const RULE = "set-tablespace";

test("set-tablespace: flags ALTER TABLE, ALTER INDEX and ALL IN TABLESPACE moves", async () => {
  const sql = [
    "ALTER TABLE events SET TABLESPACE fast;",
    "ALTER INDEX events_at_idx SET TABLESPACE fast;",
    "ALTER TABLE ALL IN TABLESPACE slow SET TABLESPACE fast;",
  ].join("\n");
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [`1:${RULE}`, `2:${RULE}`, `3:${RULE}`]);
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on events for the whole copy: reads and writes wait");
  assert.match(found[0]?.safe ?? "", /pg_repack --table events --tablespace fast/);
  assert.match(found[1]?.safe ?? "", /REINDEX \(TABLESPACE fast\) INDEX CONCURRENTLY events_at_idx;/);
  const pg13 = await violationsOf(RULE, "ALTER INDEX events_at_idx SET TABLESPACE fast;", { pgVersion: 13 });
  assert.match(
    pg13[0]?.safe ?? "",
    /CREATE INDEX CONCURRENTLY events_at_idx_new ON <table> \(<same columns>\) TABLESPACE fast;/,
  );
});

test("set-tablespace: new tables and their indexes pass, and partitioned tables (nothing is copied)", async () => {
  const fresh =
    "CREATE TABLE t (id int);\nCREATE INDEX t_id ON t (id);\nALTER TABLE t SET TABLESPACE fast;\nALTER INDEX t_id SET TABLESPACE fast;";
  assert.deepEqual(await violationsOf(RULE, fresh), []);
  const partitioned = [
    { file: "1.sql", sql: "CREATE TABLE logs (at date) PARTITION BY RANGE (at);", applied: true },
    { file: "2.sql", sql: "ALTER TABLE logs SET TABLESPACE fast;" },
  ];
  assert.deepEqual(await violationsIn(RULE, partitioned), []);
});
