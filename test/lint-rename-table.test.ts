import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "rename-table";

test("rename-table: flags renaming an existing table or view", async () => {
  const sql = "ALTER TABLE users RENAME TO accounts;\nALTER VIEW recent RENAME TO latest;";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), ["1:rename-table", "2:rename-table"]);
  assert.match(found[0]?.message ?? "", /renaming users to accounts/);
  assert.match(found[0]?.safe ?? "", /CREATE VIEW users AS SELECT \* FROM accounts/);
});

test("rename-table: passes on a table created in the same file, and on column or index renames", async () => {
  const sql = [
    "CREATE TABLE staging (id int);",
    "ALTER TABLE staging RENAME TO imports;",
    "ALTER INDEX users_email_idx RENAME TO users_email_key;",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, sql), []);
});
