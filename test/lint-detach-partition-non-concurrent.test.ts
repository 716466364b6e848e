import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsIn, violationsOf } from "../src/lint/testing.js";

const RULE = "detach-partition-non-concurrent";

test("detach-partition-non-concurrent: flags DETACH PARTITION without CONCURRENTLY on PostgreSQL 14+", async () => {
  const found = await violationsOf(RULE, "ALTER TABLE events DETACH PARTITION events_2020;");
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.equal(found[0]?.severity, "error");
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on events and events_2020 until the transaction ends");
  assert.match(found[0]?.safe ?? "", /DETACH PARTITION events_2020 CONCURRENTLY;/);
  assert.match(found[0]?.safe ?? "", /DETACH PARTITION events_2020 FINALIZE;/);
});

test("detach-partition-non-concurrent: only a warning when a default partition rules CONCURRENTLY out", async () => {
  const sources = [
    { file: "1.sql", sql: "CREATE TABLE events_other PARTITION OF events DEFAULT;", applied: true },
    { file: "2.sql", sql: "ALTER TABLE events DETACH PARTITION events_2020;" },
  ];
  const found = await violationsIn(RULE, sources);
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.equal(found[0]?.severity, "warning");
  assert.match(found[0]?.message ?? "", /default partition \(events_other\)/);
});

test("detach-partition-non-concurrent: CONCURRENTLY passes, before 14 it has no alternative, new tables pass", async () => {
  const concurrent = "-- baton:no-transaction\nALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;";
  assert.deepEqual(await violationsOf(RULE, concurrent), []);
  assert.deepEqual(await violationsOf(RULE, "ALTER TABLE events DETACH PARTITION events_2020;", { pgVersion: 13 }), []);
  const fresh = [
    "CREATE TABLE logs (at date) PARTITION BY RANGE (at);",
    "CREATE TABLE logs_2020 PARTITION OF logs FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');",
    "ALTER TABLE logs DETACH PARTITION logs_2020;",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, fresh), []);
});
