import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "add-unique-without-index";

test("add-unique-without-index: flags ADD UNIQUE and ADD PRIMARY KEY that build their index in the ALTER", async () => {
  const sql =
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);\nALTER TABLE accounts ADD PRIMARY KEY (id);";
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [`1:${RULE}`, `2:${RULE}`]);
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on users for the whole index build");
  assert.match(found[0]?.safe ?? "", /CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users \(email\);/);
  assert.match(found[0]?.safe ?? "", /ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;/);
  assert.match(found[1]?.safe ?? "", /ADD CONSTRAINT accounts_pkey PRIMARY KEY USING INDEX accounts_pkey;/);
  assert.match(found[1]?.safe ?? "", /sets NOT NULL on id/);
});

test("add-unique-without-index: flags a UNIQUE or PRIMARY KEY declared on an added column", async () => {
  const found = await violationsOf(RULE, "ALTER TABLE users ADD COLUMN handle varchar(30) UNIQUE;");
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.match(found[0]?.message ?? "", /users_handle_key/);
  assert.match(found[0]?.safe ?? "", /ALTER TABLE users ADD COLUMN handle varchar\(30\);/);
});

test("add-unique-without-index: USING INDEX passes, and constraints on a table created in the same file", async () => {
  const safe = [
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
    "ALTER TABLE accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY USING INDEX accounts_id_idx;",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, safe), []);
  const fresh = "CREATE TABLE t (id int, code text);\nALTER TABLE t ADD PRIMARY KEY (id), ADD UNIQUE (code);";
  assert.deepEqual(await violationsOf(RULE, fresh), []);
});
