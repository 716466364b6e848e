import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "drop-database";

test("drop-database: flags DROP DATABASE, with or without IF EXISTS and FORCE", async () => {
  const sql = "DROP DATABASE shop;\nDROP DATABASE IF EXISTS shop_old WITH (FORCE);";
  const found = await violationsOf(RULE, sql, { transaction: false });
  assert.deepEqual(summarize(found), ["1:drop-database", "2:drop-database"]);
  assert.match(found[0]?.message ?? "", /DROP DATABASE shop /);
});

test("drop-database: dropping other objects passes", async () => {
  assert.deepEqual(await violationsOf(RULE, "DROP SCHEMA IF EXISTS scratch;\nDROP ROLE IF EXISTS temp_reader;"), []);
});
