import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "rename-column";

test("rename-column: flags RENAME COLUMN on a table and on a view", async () => {
  const sql =
    "ALTER TABLE users RENAME COLUMN name TO full_name;\nALTER VIEW active_users RENAME COLUMN name TO full_name;";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), ["1:rename-column", "2:rename-column"]);
  assert.match(found[0]?.message ?? "", /column name of users to full_name/);
  assert.match(found[0]?.safe ?? "", /ADD COLUMN full_name/);
});

test("rename-column: the expand/contract form passes; so does renaming in a new table", async () => {
  const sql = [
    "ALTER TABLE users ADD COLUMN full_name text;",
    "UPDATE users SET full_name = name WHERE full_name IS NULL;",
    "CREATE TABLE drafts (title text);",
    "ALTER TABLE drafts RENAME COLUMN title TO headline;",
    "ALTER TABLE users RENAME CONSTRAINT users_pkey TO users_id_pkey;",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, sql), []);
});
