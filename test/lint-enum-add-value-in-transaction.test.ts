import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "enum-add-value-in-transaction";
const PG11 = { pgVersion: 11 };

test("enum-add-value-in-transaction: flags ADD VALUE in a transaction before PostgreSQL 12", async () => {
  const found = await violationsOf(RULE, "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' BEFORE 'sad';", PG11);
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.match(found[0]?.message ?? "", /wraps each file in/);
  assert.match(found[0]?.safe ?? "", /ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh';/);
  const block = "BEGIN;\nALTER TYPE mood ADD VALUE 'meh';\nCOMMIT;";
  const inBlock = await violationsOf(RULE, block, { ...PG11, transaction: false });
  assert.deepEqual(summarize(inBlock), [`2:${RULE}`]);
  assert.match(inBlock[0]?.message ?? "", /transaction opened at line 1/);
});

test("enum-add-value-in-transaction: passes outside a transaction, on PostgreSQL 12+, and for RENAME VALUE", async () => {
  const add = "ALTER TYPE mood ADD VALUE 'meh';";
  assert.deepEqual(await violationsOf(RULE, `-- baton:no-transaction\n${add}`, PG11), []);
  assert.deepEqual(await violationsOf(RULE, add), []);
  assert.deepEqual(await violationsOf(RULE, "ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';", PG11), []);
});
