import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsIn, violationsOf } from "../src/lint/testing.js";

const RULE = "add-check-without-not-valid";

test("add-check-without-not-valid: flags ADD CONSTRAINT ... CHECK that validates at once", async () => {
  const found = await violationsOf(RULE, "ALTER TABLE products ADD CHECK (price >= 0);");
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.match(found[0]?.message ?? "", /products_price_check/);
  assert.match(found[0]?.lock ?? "", /^ACCESS EXCLUSIVE on products for the whole scan/);
  assert.match(found[0]?.safe ?? "", /ALTER TABLE products ADD CHECK \(price >= 0\) NOT VALID;/);
  assert.match(found[0]?.safe ?? "", /VALIDATE CONSTRAINT products_price_check/);
});

test("add-check-without-not-valid: flags a CHECK on an added column too", async () => {
  const found = await violationsOf(
    RULE,
    "ALTER TABLE products ADD COLUMN weight int CONSTRAINT weight_positive CHECK (weight > 0);",
  );
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.match(found[0]?.safe ?? "", /VALIDATE CONSTRAINT weight_positive/);
});

test("add-check-without-not-valid: NOT VALID then VALIDATE later passes, and new tables pass", async () => {
  const sources = [
    { file: "1.sql", sql: "ALTER TABLE products ADD CONSTRAINT price_positive CHECK (price >= 0) NOT VALID;" },
    { file: "2.sql", sql: "ALTER TABLE products VALIDATE CONSTRAINT price_positive;" },
    { file: "3.sql", sql: "CREATE TABLE coupons (pct int);\nALTER TABLE coupons ADD CHECK (pct BETWEEN 0 AND 100);" },
  ];
  assert.deepEqual(await violationsIn(RULE, sources), []);
});
