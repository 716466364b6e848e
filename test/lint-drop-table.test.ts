import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "drop-table";

test("drop-table: flags each existing table a DROP TABLE names", async () => {
  const found = await violationsOf(RULE, "DROP TABLE IF EXISTS public.sessions, audit.logins CASCADE;");
  assert.deepEqual(summarize(found), ["1:drop-table", "1:drop-table"]);
  assert.match(found[0]?.message ?? "", /table sessions /);
  assert.match(found[1]?.message ?? "", /table audit\.logins /);
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on sessions, briefly");
});

test("drop-table: passes on a table created in the same file, and on DROP VIEW / DROP INDEX", async () => {
  const sql = "CREATE TABLE scratch (id int);\nDROP TABLE scratch;\nDROP VIEW v;\nDROP INDEX CONCURRENTLY i;";
  assert.deepEqual(await violationsOf(RULE, sql), []);
});
