import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "add-column-not-null-no-default";

test("add-column-not-null-no-default: flags NOT NULL (or PRIMARY KEY) without a default", async () => {
  const sql = [
    "ALTER TABLE users ADD COLUMN plan text NOT NULL;",
    "ALTER TABLE users ADD COLUMN tier int NOT NULL DEFAULT NULL;",
    "ALTER TABLE users ADD COLUMN uid uuid PRIMARY KEY;",
  ].join("\n");
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [`1:${RULE}`, `2:${RULE}`, `3:${RULE}`]);
  assert.match(found[0]?.message ?? "", /NOT NULL column plan to users without a default/);
  assert.match(found[0]?.safe ?? "", /ADD COLUMN plan text NOT NULL DEFAULT <value>/);
  assert.match(found[0]?.safe ?? "", /CHECK \(plan IS NOT NULL\) NOT VALID/);
});

test("add-column-not-null-no-default: a constant default passes on PostgreSQL 11+, is a rewrite before", async () => {
  const sql = "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';";
  assert.deepEqual(await violationsOf(RULE, sql), []);
  assert.deepEqual(await violationsOf(RULE, sql, { pgVersion: 11 }), []);
  const old = await violationsOf(RULE, sql, { pgVersion: 10 });
  assert.deepEqual(summarize(old), [`1:${RULE}`]);
  assert.match(old[0]?.message ?? "", /rewrites all of users/);
});

test("add-column-not-null-no-default: nullable, identity, serial and new-table columns pass", async () => {
  const sql = [
    "ALTER TABLE users ADD COLUMN plan text;",
    "ALTER TABLE users ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;",
    "ALTER TABLE users ADD COLUMN seq bigserial NOT NULL;",
    "CREATE TABLE plans (id int);",
    "ALTER TABLE plans ADD COLUMN name text NOT NULL;",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, sql), []);
});
