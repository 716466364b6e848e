import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "add-json-column";

test("add-json-column: warns on a json column added to an existing table (DISTINCT * and UNION break)", async () => {
  const sql = "ALTER TABLE events ADD COLUMN payload json, ADD COLUMN tags json[], ADD COLUMN meta jsonb;";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), ["1:add-json-column", "1:add-json-column"]);
  assert.equal(found[0]?.severity, "warning");
  assert.equal(found[0]?.group, "compat");
  assert.match(found[0]?.message ?? "", /column payload of events gets type json/);
  assert.match(found[0]?.message ?? "", /SELECT DISTINCT \* and UNION \(not UNION ALL\) over the rows of events/);
  assert.match(found[0]?.message ?? "", /could not identify an equality operator for type json/);
  assert.match(found[0]?.lock ?? "", /^ACCESS EXCLUSIVE on events, briefly/);
  assert.match(found[0]?.safe ?? "", /ALTER TABLE events ADD COLUMN payload jsonb;/);
  assert.match(found[1]?.safe ?? "", /ADD COLUMN tags jsonb\[\];/);
});

test("add-json-column: ALTER COLUMN TYPE json breaks = comparisons of the running release", async () => {
  const found = await violationsOf(RULE, "ALTER TABLE events ALTER COLUMN meta TYPE json USING meta::json;");
  assert.deepEqual(summarize(found), ["1:add-json-column"]);
  assert.match(
    found[0]?.message ?? "",
    /compare meta with = start failing with "operator does not exist: json = \.\.\."/,
  );
  assert.match(found[0]?.safe ?? "", /ALTER COLUMN meta TYPE jsonb USING meta::jsonb/);
});

test("add-json-column: json columns of new tables are flagged too (no lock, nothing running breaks yet)", async () => {
  const sql =
    "CREATE TABLE logs (id bigint, body json, extra pg_catalog.json);\nALTER TABLE logs ADD COLUMN more json;";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), ["1:add-json-column", "1:add-json-column", "2:add-json-column"]);
  assert.equal(found[0]?.lock, undefined);
  assert.match(found[0]?.message ?? "", /column body of logs has type json/);
  assert.match(found[0]?.safe ?? "", /CREATE TABLE logs \(\.\.\., body jsonb, \.\.\.\);/);
  assert.match(found[2]?.message ?? "", /column more of logs has type json/);
});

test("add-json-column: jsonb passes, and json kept on purpose is suppressed with a reason", async () => {
  const sql = [
    "CREATE TABLE logs (id bigint, body jsonb);",
    "ALTER TABLE events ADD COLUMN payload jsonb, ALTER COLUMN meta TYPE jsonb USING meta::jsonb;",
    "-- baton:allow add-json-column signatures are computed over the exact text",
    "ALTER TABLE webhooks ADD COLUMN raw json;",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, sql), []);
});
