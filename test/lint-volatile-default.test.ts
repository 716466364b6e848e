import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "volatile-default";

test("volatile-default: flags ADD COLUMN with a volatile default, nested ones too", async () => {
  const sql = [
    "ALTER TABLE users ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();",
    "ALTER TABLE users ADD COLUMN seen timestamptz DEFAULT clock_timestamp();",
    "ALTER TABLE users ADD COLUMN bucket int DEFAULT (random() * 10)::int;",
    "ALTER TABLE users ADD COLUMN n bigint DEFAULT nextval('users_n_seq'::regclass);",
  ].join("\n");
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [`1:${RULE}`, `2:${RULE}`, `3:${RULE}`, `4:${RULE}`]);
  assert.ok(found.every((v) => v.severity === "error"));
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on users for the whole rewrite: reads and writes wait");
  assert.match(found[0]?.safe ?? "", /ALTER TABLE users ADD COLUMN token uuid;/);
  assert.match(found[0]?.safe ?? "", /ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid\(\);/);
  assert.match(found[2]?.safe ?? "", /SET DEFAULT \(random\(\) \* 10\)::int4;/);
});

test("volatile-default: a function of unknown volatility is a warning", async () => {
  const found = await violationsOf(RULE, "ALTER TABLE users ADD COLUMN code text DEFAULT make_code();");
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.equal(found[0]?.severity, "warning");
  assert.match(found[0]?.message ?? "", /if make_code is VOLATILE/);
});

test("volatile-default: stable and constant defaults pass on PostgreSQL 11+, and new tables pass", async () => {
  const sql = [
    "ALTER TABLE users ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();",
    "ALTER TABLE users ADD COLUMN updated_at timestamptz DEFAULT CURRENT_TIMESTAMP;",
    "ALTER TABLE users ADD COLUMN day date DEFAULT timezone('utc', now())::date;",
    "ALTER TABLE users ADD COLUMN plan text DEFAULT 'free';",
    "ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, sql), []);
  const fresh = "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN token uuid DEFAULT gen_random_uuid();";
  assert.deepEqual(await violationsOf(RULE, fresh), []);
});

test("volatile-default: before PostgreSQL 11 any default on a nullable column rewrites", async () => {
  const sql =
    "ALTER TABLE users ADD COLUMN plan text DEFAULT 'free';\nALTER TABLE users ADD COLUMN note text DEFAULT NULL;";
  const found = await violationsOf(RULE, sql, { pgVersion: 10 });
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.match(found[0]?.message ?? "", /before PostgreSQL 11/);
  // NOT NULL with a default before 11 is add-column-not-null-no-default's finding, not reported twice.
  const notNull = "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';";
  assert.deepEqual(await violationsOf(RULE, notNull, { pgVersion: 10 }), []);
});
