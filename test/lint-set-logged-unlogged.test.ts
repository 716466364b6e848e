import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "set-logged-unlogged";

test("set-logged-unlogged: flags SET LOGGED and SET UNLOGGED on an existing table", async () => {
  const found = await violationsOf(RULE, "ALTER TABLE events SET LOGGED;\nALTER TABLE cache SET UNLOGGED;");
  assert.deepEqual(summarize(found), [`1:${RULE}`, `2:${RULE}`]);
  assert.match(found[0]?.message ?? "", /WAL/);
  assert.equal(found[1]?.lock, "ACCESS EXCLUSIVE on cache for the whole rewrite: reads and writes wait");
  assert.match(found[1]?.safe ?? "", /CREATE UNLOGGED TABLE cache_new \(LIKE cache INCLUDING ALL\);/);
});

test("set-logged-unlogged: passes on a table created in the same file, and for other ALTERs", async () => {
  assert.deepEqual(
    await violationsOf(RULE, "CREATE UNLOGGED TABLE staging (id int);\nALTER TABLE staging SET LOGGED;"),
    [],
  );
  assert.deepEqual(await violationsOf(RULE, "ALTER TABLE events SET (fillfactor = 90);"), []);
});
