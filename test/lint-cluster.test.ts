import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "cluster";

test("cluster: flags CLUSTER of a table, and CLUSTER of every clustered table", async () => {
  const found = await violationsOf(RULE, "CLUSTER users USING users_created_idx;\nCLUSTER;", { transaction: false });
  assert.deepEqual(summarize(found), [`1:${RULE}`, `2:${RULE}`]);
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on users for the whole rewrite");
  assert.match(found[0]?.safe ?? "", /pg_repack --table users --order-by/);
  assert.match(found[1]?.message ?? "", /every table that was clustered before/);
});

test("cluster: ALTER TABLE ... CLUSTER ON passes, and tables created in the same file", async () => {
  assert.deepEqual(await violationsOf(RULE, "ALTER TABLE users CLUSTER ON users_created_idx;"), []);
  const fresh = "CREATE TABLE t (id int);\nCREATE INDEX t_id ON t (id);\nCLUSTER t USING t_id;";
  assert.deepEqual(await violationsOf(RULE, fresh), []);
});
