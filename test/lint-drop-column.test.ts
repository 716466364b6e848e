import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "drop-column";

test("drop-column: flags DROP COLUMN on an existing table, with the lock and the contract step", async () => {
  const [found, ...rest] = await violationsOf(RULE, "ALTER TABLE users DROP COLUMN IF EXISTS email;");
  assert.equal(rest.length, 0);
  assert.equal(found?.severity, "error");
  assert.equal(found?.group, "compat");
  assert.match(found?.message ?? "", /column email of users/);
  assert.match(found?.lock ?? "", /^ACCESS EXCLUSIVE on users/);
  assert.match(found?.safe ?? "", /postdeploy/);
});

test("drop-column: one violation per dropped column, schema kept when not public", async () => {
  const found = await violationsOf(RULE, "ALTER TABLE audit.events DROP COLUMN a, DROP COLUMN b, ADD COLUMN c int;");
  assert.deepEqual(summarize(found), ["1:drop-column", "1:drop-column"]);
  assert.match(found[1]?.message ?? "", /column b of audit\.events/);
});

test("drop-column: passes on a table created earlier in the same file, and on other ALTERs", async () => {
  const sql =
    "CREATE TABLE drafts (id int, body text);\nALTER TABLE drafts DROP COLUMN body;\nALTER TABLE users ADD COLUMN nickname text;";
  assert.deepEqual(await violationsOf(RULE, sql), []);
});

test("drop-column: the safe form (drop in a later release) is suppressed with a reason", async () => {
  const sql = "-- baton:allow drop-column v12 no longer reads email\nALTER TABLE users DROP COLUMN email;";
  assert.deepEqual(await violationsOf(RULE, sql), []);
});
