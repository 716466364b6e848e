import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsIn, violationsOf } from "../src/lint/testing.js";

const RULE = "add-foreign-key-without-not-valid";

test("add-foreign-key-without-not-valid: flags ADD CONSTRAINT ... FOREIGN KEY that validates at once", async () => {
  const sql =
    "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.equal(found[0]?.lock, "SHARE ROW EXCLUSIVE on orders and on users for the whole check: writes to both wait");
  assert.match(found[0]?.safe ?? "", /REFERENCES users \(id\) ON DELETE CASCADE NOT VALID;/);
  assert.match(found[0]?.safe ?? "", /VALIDATE CONSTRAINT orders_user_fk/);
});

test("add-foreign-key-without-not-valid: flags ADD COLUMN ... REFERENCES, naming the default constraint", async () => {
  const found = await violationsOf(RULE, "ALTER TABLE orders ADD COLUMN coupon_id bigint REFERENCES coupons;");
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.match(found[0]?.safe ?? "", /ADD COLUMN coupon_id int8;/);
  assert.match(
    found[0]?.safe ?? "",
    /ADD CONSTRAINT orders_coupon_id_fkey FOREIGN KEY \(coupon_id\) REFERENCES coupons NOT VALID/,
  );
});

test("add-foreign-key-without-not-valid: NOT VALID then VALIDATE in the next migration passes", async () => {
  const sources = [
    {
      file: "1.sql",
      sql: "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
    },
    { file: "2.sql", sql: "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;" },
  ];
  assert.deepEqual(await violationsIn(RULE, sources), []);
});

test("add-foreign-key-without-not-valid: a table created in the same file passes", async () => {
  const sql =
    "CREATE TABLE refunds (id bigint, order_id bigint);\nALTER TABLE refunds ADD FOREIGN KEY (order_id) REFERENCES orders;";
  assert.deepEqual(await violationsOf(RULE, sql), []);
});
