import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "validate-in-same-transaction";

const ADD = "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;";
const VALIDATE = "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;";

test("validate-in-same-transaction: flags VALIDATE in the file transaction that added the constraint", async () => {
  const found = await violationsOf(RULE, `${ADD}\n${VALIDATE}`);
  assert.deepEqual(summarize(found), [`2:${RULE}`]);
  assert.match(found[0]?.message ?? "", /ADD \.\.\. NOT VALID at line 1/);
});

test("validate-in-same-transaction: flags it inside an explicit BEGIN, with unnamed constraints too", async () => {
  const sql = [
    "BEGIN;",
    "ALTER TABLE products ADD CHECK (price >= 0) NOT VALID;",
    "ALTER TABLE products VALIDATE CONSTRAINT products_price_check;",
    "COMMIT;",
  ].join("\n");
  assert.deepEqual(summarize(await violationsOf(RULE, sql, { transaction: false })), [`3:${RULE}`]);
});

test("validate-in-same-transaction: passes with a COMMIT between, outside a transaction, or in the next file", async () => {
  assert.deepEqual(await violationsOf(RULE, `${ADD}\nCOMMIT;\nBEGIN;\n${VALIDATE}`), []);
  assert.deepEqual(await violationsOf(RULE, `${ADD}\n${VALIDATE}`, { transaction: false }), []);
  assert.deepEqual(await violationsOf(RULE, VALIDATE), []);
});
