import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "rename-schema";

test("rename-schema: flags renaming an existing schema, as an error with the view-shim sequence", async () => {
  const [found, ...rest] = await violationsOf(RULE, "ALTER SCHEMA billing RENAME TO invoicing;");
  assert.equal(rest.length, 0);
  assert.equal(found?.severity, "error");
  assert.equal(found?.group, "compat");
  assert.match(found?.message ?? "", /renaming schema billing to invoicing/);
  assert.match(found?.message ?? "", /search_path/);
  assert.match(found?.safe ?? "", /CREATE SCHEMA billing;/);
  assert.match(found?.safe ?? "", /CREATE VIEW billing\.<table> AS SELECT \* FROM invoicing\.<table>/);
  assert.match(found?.safe ?? "", /DROP SCHEMA billing;/);
});

test("rename-schema: a schema this file created passes; CREATE SCHEMA IF NOT EXISTS does not prove it new", async () => {
  assert.deepEqual(await violationsOf(RULE, "CREATE SCHEMA staging;\nALTER SCHEMA staging RENAME TO imports;"), []);
  const maybeOld = "CREATE SCHEMA IF NOT EXISTS billing;\nALTER SCHEMA billing RENAME TO invoicing;";
  assert.deepEqual(summarize(await violationsOf(RULE, maybeOld)), ["2:rename-schema"]);
});

test("rename-schema: the safe form (new schema plus views, old name dropped in postdeploy) passes", async () => {
  const sql = [
    "CREATE SCHEMA invoicing;",
    "ALTER TABLE users RENAME TO accounts;", // other renames are other rules' business
    "ALTER SCHEMA billing OWNER TO app;",
    "-- baton:allow rename-schema billing keeps a view per table until v14 serves alone",
    "ALTER SCHEMA billing RENAME TO billing_v1;",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, sql), []);
});
