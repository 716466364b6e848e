import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsIn, violationsOf } from "../src/lint/testing.js";

const RULE = "drop-not-null";

test("drop-not-null: warns on DROP NOT NULL of an existing column, one per column", async () => {
  const found = await violationsOf(
    RULE,
    "ALTER TABLE users ALTER COLUMN email DROP NOT NULL, ALTER name DROP NOT NULL, ALTER age SET DEFAULT 0;",
  );
  assert.deepEqual(summarize(found), ["1:drop-not-null", "1:drop-not-null"]);
  assert.equal(found[0]?.severity, "warning");
  assert.equal(found[0]?.group, "compat");
  assert.match(found[0]?.message ?? "", /users\.email/);
  assert.match(found[1]?.message ?? "", /users\.name/);
  assert.match(found[0]?.lock ?? "", /^ACCESS EXCLUSIVE on users, briefly/);
  assert.match(found[0]?.safe ?? "", /handles email being NULL/);
});

test("drop-not-null: passes on a new table, and on a column the earlier migrations show nullable", async () => {
  assert.deepEqual(
    await violationsOf(RULE, "CREATE TABLE t (a int NOT NULL);\nALTER TABLE t ALTER a DROP NOT NULL;"),
    [],
  );
  const sources = [
    { file: "001.sql", sql: "CREATE TABLE users (id int PRIMARY KEY, nickname text, email text NOT NULL);" },
    {
      file: "002.sql",
      sql: "ALTER TABLE users ALTER nickname DROP NOT NULL;\nALTER TABLE users ALTER email DROP NOT NULL;",
    },
  ];
  assert.deepEqual(summarize(await violationsIn(RULE, sources)), ["2:drop-not-null"]);
});

test("drop-not-null: suppressed with a reason once the running release copes with NULL", async () => {
  const sql = "-- baton:allow drop-not-null v12 renders a missing email\nALTER TABLE users ALTER email DROP NOT NULL;";
  assert.deepEqual(await violationsOf(RULE, sql), []);
});
