import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsIn, violationsOf } from "../src/lint/testing.js";

const RULE = "add-generated-stored-column";

test("add-generated-stored-column: flags a STORED generated column added to an existing table", async () => {
  const sql = "ALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (price * (qty + 1)) STORED;";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on orders for the whole rewrite: reads and writes wait");
  assert.match(found[0]?.safe ?? "", /ALTER TABLE orders ADD COLUMN total numeric;/);
  assert.match(found[0]?.safe ?? "", /NEW\.total := NEW\.price \* \(NEW\.qty \+ 1\);/);
  assert.doesNotMatch(found[0]?.safe ?? "", /VIRTUAL/);
  const pg18 = await violationsOf(RULE, sql, { pgVersion: 18 });
  assert.match(pg18[0]?.safe ?? "", /GENERATED ALWAYS AS \(price \* \(qty \+ 1\)\) VIRTUAL;/);
});

test("add-generated-stored-column: flags SET EXPRESSION on a stored column", async () => {
  const found = await violationsOf(RULE, "ALTER TABLE orders ALTER COLUMN total SET EXPRESSION AS (price * qty);");
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.match(found[0]?.message ?? "", /SET EXPRESSION on orders\.total/);
});

test("add-generated-stored-column: virtual columns pass, and new tables", async () => {
  const virtual = "ALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) VIRTUAL;";
  assert.deepEqual(await violationsOf(RULE, virtual, { pgVersion: 18 }), []);
  const setVirtual = [
    { file: "1.sql", sql: virtual, applied: true },
    { file: "2.sql", sql: "ALTER TABLE orders ALTER COLUMN total SET EXPRESSION AS (price * qty * 2);" },
  ];
  assert.deepEqual(await violationsIn(RULE, setVirtual, { pgVersion: 18 }), []);
  const fresh = "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int GENERATED ALWAYS AS (a * 2) STORED;";
  assert.deepEqual(await violationsOf(RULE, fresh), []);
});
