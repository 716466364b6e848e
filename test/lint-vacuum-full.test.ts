import assert from "node:assert/strict";
import { test } from "node:test";
import { locksTaken } from "../src/lint/locks.js";
import { parseSql } from "../src/lint/parse.js";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "vacuum-full";
const OUTSIDE = { transaction: false };

test("vacuum-full: flags VACUUM FULL of tables and of the whole database", async () => {
  const found = await violationsOf(RULE, "VACUUM FULL users;\nVACUUM (FULL, ANALYZE);", OUTSIDE);
  assert.deepEqual(summarize(found), [`1:${RULE}`, `2:${RULE}`]);
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on users for its whole rewrite");
  assert.match(found[0]?.safe ?? "", /VACUUM \(ANALYZE\) users;/);
  assert.match(found[1]?.message ?? "", /every table of the database/);
});

test("vacuum-full: plain VACUUM, FULL false and tables created in the same file pass", async () => {
  const sql = "VACUUM users;\nVACUUM (FULL false, ANALYZE) users;\nANALYZE users;";
  assert.deepEqual(await violationsOf(RULE, sql, OUTSIDE), []);
  assert.deepEqual(await violationsOf(RULE, "CREATE TABLE t (id int);\nVACUUM FULL t;", OUTSIDE), []);
});

test("vacuum-full: the lock table agrees: FULL false, off or 0 is a plain VACUUM", async () => {
  const parsed = await parseSql(
    "VACUUM (FULL false) a;\nVACUUM (FULL off) b;\nVACUUM (FULL 0) c;\nVACUUM (FULL 1) d;",
    "v.sql",
  );
  const modes = parsed.statements.map((s) => locksTaken(s, 16).map((l) => `${l.mode} on ${l.relation}`));
  assert.deepEqual(modes, [
    ["SHARE UPDATE EXCLUSIVE on a"],
    ["SHARE UPDATE EXCLUSIVE on b"],
    ["SHARE UPDATE EXCLUSIVE on c"],
    ["ACCESS EXCLUSIVE on d"],
  ]);
});
