import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "drop-view";

test("drop-view: flags DROP VIEW and DROP MATERIALIZED VIEW, one per view, as errors with the lock", async () => {
  const sql = "DROP VIEW IF EXISTS recent_orders, audit.logins CASCADE;\nDROP MATERIALIZED VIEW daily_stats;";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), ["1:drop-view", "1:drop-view", "2:drop-view"]);
  assert.equal(found[0]?.severity, "error");
  assert.equal(found[0]?.group, "compat");
  assert.match(found[0]?.message ?? "", /dropping view recent_orders breaks/);
  assert.match(found[0]?.message ?? "", /relation "recent_orders" does not exist; CASCADE also drops/);
  assert.match(found[1]?.message ?? "", /view audit\.logins/);
  assert.match(found[0]?.lock ?? "", /^ACCESS EXCLUSIVE on recent_orders, briefly/);
  assert.match(found[2]?.message ?? "", /materialized view daily_stats/);
  assert.match(found[2]?.safe ?? "", /DROP MATERIALIZED VIEW daily_stats;/);
});

test("drop-view: moving a view to another schema breaks its readers too; renames are rename-table's", async () => {
  const sql = "ALTER VIEW recent_orders SET SCHEMA archive;\nALTER VIEW recent_orders RENAME TO latest_orders;";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), ["1:drop-view"]);
  assert.match(found[0]?.message ?? "", /moving view recent_orders to schema archive/);
});

test("drop-view: a DROP VIEW run by EXECUTE in a DO block is flagged", async () => {
  const sql = "DO $$ BEGIN EXECUTE 'DROP VIEW recent_orders'; END $$;";
  assert.deepEqual(summarize(await violationsOf(RULE, sql)), ["1:drop-view"]);
});

test("drop-view: views this file created pass; CREATE OR REPLACE VIEW does not prove one new", async () => {
  const sql = [
    "CREATE VIEW tmp_totals AS SELECT 1 AS n;",
    "DROP VIEW tmp_totals;",
    "CREATE MATERIALIZED VIEW tmp_stats AS SELECT 1 AS n;",
    "DROP MATERIALIZED VIEW tmp_stats;",
    "CREATE OR REPLACE VIEW recent_orders AS SELECT 1 AS n;",
    "DROP VIEW recent_orders;",
  ].join("\n");
  assert.deepEqual(summarize(await violationsOf(RULE, sql)), ["6:drop-view"]);
});

test("drop-view: the safe form (CREATE OR REPLACE, or a new view beside the old one) passes", async () => {
  const sql = [
    "CREATE OR REPLACE VIEW recent_orders AS SELECT id, total, created_at, currency FROM orders;",
    "CREATE VIEW recent_orders_v2 AS SELECT id, total_cents FROM orders;",
    "DROP TABLE IF EXISTS scratch;",
    "REFRESH MATERIALIZED VIEW CONCURRENTLY daily_stats;",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, sql), []);
});
