import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "lock-table";

test("lock-table: flags LOCK TABLE in a mode that blocks writes (ACCESS EXCLUSIVE by default)", async () => {
  const found = await violationsOf(RULE, "LOCK TABLE users;\nLOCK orders, carts IN SHARE MODE NOWAIT;");
  assert.deepEqual(summarize(found), [`1:${RULE}`, `2:${RULE}`]);
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on users until the transaction ends");
  assert.match(found[0]?.message ?? "", /every read and write of users/);
  assert.equal(found[1]?.lock, "SHARE on orders, carts until the transaction ends");
  assert.match(found[1]?.message ?? "", /every write of orders, carts/);
  assert.match(found[0]?.safe ?? "", /SET lock_timeout = '2s';/);
});

test("lock-table: outside a transaction PostgreSQL refuses it", async () => {
  const found = await violationsOf(RULE, "LOCK TABLE users;", { transaction: false });
  assert.match(found[0]?.message ?? "", /refused by PostgreSQL/);
});

test("lock-table: modes that let writes through pass, and tables created in the same file", async () => {
  assert.deepEqual(
    await violationsOf(RULE, "LOCK TABLE users IN ROW EXCLUSIVE MODE;\nLOCK users IN ACCESS SHARE MODE;"),
    [],
  );
  assert.deepEqual(await violationsOf(RULE, "CREATE TABLE t (id int);\nLOCK TABLE t;"), []);
});
