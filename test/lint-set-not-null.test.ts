import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsIn, violationsOf } from "../src/lint/testing.js";

const RULE = "set-not-null";

test("set-not-null: flags SET NOT NULL on an existing column", async () => {
  const found = await violationsOf(RULE, "ALTER TABLE users ALTER COLUMN email SET NOT NULL;");
  assert.deepEqual(summarize(found), ["1:set-not-null"]);
  assert.match(found[0]?.lock ?? "", /^ACCESS EXCLUSIVE on users for the whole scan/);
  assert.match(found[0]?.safe ?? "", /CHECK \(email IS NOT NULL\) NOT VALID/);
  assert.match(found[0]?.safe ?? "", /VALIDATE CONSTRAINT users_email_not_null/);
});

test("set-not-null: the CHECK NOT VALID, VALIDATE, SET NOT NULL sequence passes on PostgreSQL 12+", async () => {
  const sources = [
    { file: "001.sql", sql: "ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;" },
    {
      file: "002.sql",
      sql: [
        "ALTER TABLE users VALIDATE CONSTRAINT email_nn;",
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        "ALTER TABLE users DROP CONSTRAINT email_nn;",
      ].join("\n"),
    },
  ];
  assert.deepEqual(await violationsIn(RULE, sources), []);
  // The first file may already be applied: it is read for what it defines, not reported.
  assert.deepEqual(await violationsIn(RULE, [{ ...sources[0]!, applied: true }, sources[1]!]), []);
  const old = await violationsIn(RULE, sources, { pgVersion: 11 });
  assert.deepEqual(summarize(old), ["2:set-not-null"]);
  assert.match(old[0]?.message ?? "", /PostgreSQL 11 cannot use the CHECK constraint email_nn/);
});

test("set-not-null: a CHECK that is still NOT VALID does not help; an unnamed one is matched by its default name", async () => {
  const notValidated =
    "ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;";
  const found = await violationsOf(RULE, notValidated);
  assert.deepEqual(summarize(found), ["2:set-not-null"]);
  assert.match(found[0]?.message ?? "", /email_nn \(line 1\) is NOT VALID yet/);
  const unnamed = [
    { file: "1.sql", sql: "ALTER TABLE users ADD CHECK (email IS NOT NULL AND email <> '') NOT VALID;" },
    {
      file: "2.sql",
      sql: "ALTER TABLE users VALIDATE CONSTRAINT users_email_check;\nALTER TABLE users ALTER email SET NOT NULL;",
    },
  ];
  assert.deepEqual(await violationsIn(RULE, unnamed), []);
});

test("set-not-null: a new table passes", async () => {
  assert.deepEqual(await violationsOf(RULE, "CREATE TABLE t (a int);\nALTER TABLE t ALTER COLUMN a SET NOT NULL;"), []);
});

test("set-not-null: an unnamed CHECK over several columns is matched by PostgreSQL's name for it, table_check", async () => {
  const sources = [
    { file: "1.sql", sql: "ALTER TABLE users ADD CHECK (email IS NOT NULL AND name <> '') NOT VALID;" },
    {
      file: "2.sql",
      sql: "ALTER TABLE users VALIDATE CONSTRAINT users_check;\nALTER TABLE users ALTER email SET NOT NULL;",
    },
  ];
  assert.deepEqual(await violationsIn(RULE, sources), []);
});
