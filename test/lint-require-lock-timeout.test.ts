import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "require-lock-timeout";

test("require-lock-timeout: warns on ACCESS EXCLUSIVE and SHARE locks taken without a lock_timeout", async () => {
  const sql =
    "ALTER TABLE users ADD COLUMN plan text;\nCREATE INDEX i ON orders (user_id);\nLOCK TABLE carts IN SHARE MODE;";
  const found = await violationsOf(RULE, sql, { transaction: false });
  assert.deepEqual(summarize(found), [`1:${RULE}`, `2:${RULE}`, `3:${RULE}`]);
  assert.equal(found[0]?.severity, "warning");
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on users");
  assert.equal(found[1]?.lock, "SHARE on orders");
  assert.match(found[0]?.safe ?? "", /SET lock_timeout = '2s';/);
});

test("require-lock-timeout: a lock already held in the same transaction is not waited for again", async () => {
  const sql = "ALTER TABLE users ADD COLUMN plan text;\nALTER TABLE users ADD COLUMN tier int;";
  assert.deepEqual(summarize(await violationsOf(RULE, sql)), [`1:${RULE}`]);
  assert.deepEqual(summarize(await violationsOf(RULE, sql, { transaction: false })), [`1:${RULE}`, `2:${RULE}`]);
});

test("require-lock-timeout: passes after SET lock_timeout (session or LOCAL), and for weak locks", async () => {
  const alter = "ALTER TABLE users ADD COLUMN plan text;";
  assert.deepEqual(await violationsOf(RULE, `SET lock_timeout = '2s';\n${alter}`), []);
  assert.deepEqual(await violationsOf(RULE, `SET LOCAL lock_timeout TO 2000;\n${alter}`), []);
  assert.deepEqual(await violationsOf(RULE, alter, { lockTimeout: true }), []);
  const weak =
    "-- baton:no-transaction\nCREATE INDEX CONCURRENTLY i ON users (email);\nALTER TABLE users VALIDATE CONSTRAINT c;\nINSERT INTO users (id) VALUES (1);";
  assert.deepEqual(await violationsOf(RULE, weak), []);
});

test("require-lock-timeout: lock_timeout = 0, RESET and a rolled back SET count as no timeout", async () => {
  const alter = "ALTER TABLE users ADD COLUMN plan text;";
  assert.equal((await violationsOf(RULE, `SET lock_timeout = 0;\n${alter}`)).length, 1);
  assert.equal((await violationsOf(RULE, `SET lock_timeout = '2s';\nRESET lock_timeout;\n${alter}`)).length, 1);
  const rolledBack = `BEGIN;\nSET lock_timeout = '2s';\nROLLBACK;\n${alter}`;
  assert.equal((await violationsOf(RULE, rolledBack, { transaction: false })).length, 1);
  const localEnded = `BEGIN;\nSET LOCAL lock_timeout = '2s';\nCOMMIT;\n${alter}`;
  assert.equal((await violationsOf(RULE, localEnded, { transaction: false })).length, 1);
});

test("require-lock-timeout: tables created in the same file are exempt", async () => {
  const sql = "CREATE TABLE t (id int);\nCREATE INDEX ON t (id);\nALTER TABLE t ADD COLUMN x int;";
  assert.deepEqual(await violationsOf(RULE, sql, { transaction: false }), []);
});
