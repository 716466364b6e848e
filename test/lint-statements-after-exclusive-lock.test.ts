import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsIn, violationsOf } from "../src/lint/testing.js";

const RULE = "statements-after-exclusive-lock";

test("statements-after-exclusive-lock: a backfill of the locked table in the same transaction is an error", async () => {
  const sql = "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'free';";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [`3:${RULE}`]);
  assert.equal(found[0]?.severity, "error");
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on users (taken at line 2), held until the transaction ends");
  assert.match(found[0]?.message ?? "", /UPDATE on users runs while this transaction holds ACCESS EXCLUSIVE/);
  assert.match(found[0]?.safe ?? "", /next migration/);
});

test("statements-after-exclusive-lock: work on other tables while the lock is held is a warning", async () => {
  const sql = [
    "ALTER TABLE users ADD COLUMN plan text;",
    "INSERT INTO audit SELECT * FROM events;",
    "CREATE INDEX orders_user_idx ON orders (user_id);",
  ].join("\n");
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [`2:${RULE}`, `3:${RULE}`]);
  assert.ok(found.every((v) => v.severity === "warning"));
  assert.match(found[0]?.message ?? "", /queries on users wait for it too/);
});

test("statements-after-exclusive-lock: waiting for a strong lock on another table while holding one is a warning", async () => {
  const sql = "ALTER TABLE users ADD COLUMN seen timestamptz;\nALTER TABLE orders ADD COLUMN note text;";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [`2:${RULE}`]);
  assert.equal(found[0]?.severity, "warning");
  assert.match(
    found[0]?.message ?? "",
    /must get ACCESS EXCLUSIVE on orders while the transaction already holds ACCESS EXCLUSIVE on users \(taken at line 1\)/,
  );
  // A lock_timeout bounds the wait, but users stays locked for up to that long: still a warning.
  const bounded = await violationsOf(RULE, `SET lock_timeout = '2s';\n${sql}`);
  assert.deepEqual(summarize(bounded), [`3:${RULE}`]);
  assert.equal(bounded[0]?.severity, "warning");
  assert.match(bounded[0]?.message ?? "", /for up to the lock_timeout, and every query on users waits as long/);
  // The lock of a dropped index is its table's: later work on that table is under the lock.
  const drop = [
    { file: "1.sql", sql: "CREATE INDEX users_email_idx ON users (email);", applied: true },
    { file: "2.sql", sql: "DROP INDEX users_email_idx;\nUPDATE users SET email = lower(email);" },
  ];
  const dropped = await violationsIn(RULE, drop);
  assert.deepEqual(summarize(dropped), [`2:${RULE}`]);
  assert.equal(dropped[0]?.severity, "error");
});

test("statements-after-exclusive-lock: explicit transactions and DO blocks count", async () => {
  const explicit = "BEGIN;\nLOCK TABLE users;\nDELETE FROM users WHERE banned;\nCOMMIT;";
  assert.deepEqual(summarize(await violationsOf(RULE, explicit, { transaction: false })), [`3:${RULE}`]);
  const block = "DO $$\nBEGIN\n  ALTER TABLE users ADD COLUMN plan text;\n  UPDATE users SET plan = 'free';\nEND\n$$;";
  assert.deepEqual(summarize(await violationsOf(RULE, block, { transaction: false })), [`4:${RULE}`]);
});

test("statements-after-exclusive-lock: catalog-only statements, autocommit, COMMIT and new tables pass", async () => {
  const catalog = [
    "ALTER TABLE users ADD COLUMN plan text;",
    "ALTER TABLE users ADD COLUMN tier int;",
    "COMMENT ON COLUMN users.plan IS 'billing plan';",
    "INSERT INTO plans (name) VALUES ('free');",
    "SELECT set_config('app.x', '1', true);",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, catalog), []);
  const autocommit = "ALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'free' WHERE id = 1;";
  assert.deepEqual(await violationsOf(RULE, autocommit, { transaction: false }), []);
  const committed = "ALTER TABLE users ADD COLUMN plan text;\nCOMMIT;\nUPDATE users SET plan = 'free' WHERE id = 1;";
  assert.deepEqual(await violationsOf(RULE, committed), []);
  const fresh = "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN x int;\nINSERT INTO t SELECT id FROM users;";
  assert.deepEqual(await violationsOf(RULE, fresh), []);
  // Weaker locks than ACCESS EXCLUSIVE do not block reads.
  const weak = "CREATE INDEX users_email_idx ON users (email);\nUPDATE users SET plan = 'free';";
  assert.deepEqual(await violationsOf(RULE, weak), []);
  // Locks already held, or on new tables, are not waited for; CONCURRENTLY is another rule's finding.
  const held = [
    "CREATE TABLE notes (id int);",
    "ALTER TABLE users ADD COLUMN plan text;",
    "ALTER TABLE users ADD COLUMN tier int;",
    "ALTER TABLE notes ADD COLUMN body text;",
    "CREATE INDEX CONCURRENTLY users_plan_idx ON users (plan);",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, held), []);
});
