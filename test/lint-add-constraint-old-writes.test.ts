import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "add-constraint-old-writes";

test("add-constraint-old-writes: warns on CHECK and FOREIGN KEY, NOT VALID included: new writes are checked", async () => {
  const sql = [
    "ALTER TABLE users ADD CONSTRAINT age_ok CHECK (age >= 0) NOT VALID;",
    "ALTER TABLE users ADD CONSTRAINT users_org_fkey FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID;",
    "ALTER TABLE users ADD CHECK (age < 200);",
  ].join("\n");
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [
    "1:add-constraint-old-writes",
    "2:add-constraint-old-writes",
    "3:add-constraint-old-writes",
  ]);
  for (const violation of found) {
    assert.equal(violation.severity, "warning");
    assert.equal(violation.group, "compat");
  }
  assert.match(
    found[0]?.message ?? "",
    /CHECK constraint age_ok to users NOT VALID \(which skips only the rows already there\)/,
  );
  assert.match(found[0]?.message ?? "", /every INSERT and UPDATE of the running release on users is checked/);
  assert.match(found[0]?.lock ?? "", /^ACCESS EXCLUSIVE on users, briefly/);
  assert.match(found[0]?.safe ?? "", /VALIDATE CONSTRAINT age_ok/);
  assert.match(found[0]?.safe ?? "", /baton:allow add-constraint-old-writes/);
  assert.match(found[1]?.message ?? "", /must reference an existing row of orgs/);
  assert.match(found[1]?.message ?? "", /DELETEs of orgs rows that users rows reference fail/);
  assert.match(found[1]?.lock ?? "", /^SHARE ROW EXCLUSIVE on users/);
  assert.match(found[2]?.message ?? "", /CHECK constraint users_age_check to users:/);
});

test("add-constraint-old-writes: UNIQUE, PRIMARY KEY, EXCLUDE and unique indexes, concurrent or not", async () => {
  const sql = [
    "ALTER TABLE users ADD UNIQUE (email), ADD PRIMARY KEY (id), ADD CONSTRAINT no_overlap EXCLUDE USING gist (period WITH &&);",
    "CREATE UNIQUE INDEX CONCURRENTLY ON users (lower(email)) WHERE deleted_at IS NULL;",
  ].join("\n");
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [
    "1:add-constraint-old-writes",
    "1:add-constraint-old-writes",
    "1:add-constraint-old-writes",
    "2:add-constraint-old-writes",
  ]);
  assert.match(found[0]?.message ?? "", /unique constraint users_email_key \(email\).*repeats a value of email/);
  assert.match(found[0]?.safe ?? "", /UNIQUE USING INDEX users_email_key/);
  assert.match(found[1]?.message ?? "", /primary key users_pkey \(id\).*leaves id NULL/);
  assert.match(found[2]?.message ?? "", /exclusion constraint no_overlap/);
  assert.match(found[3]?.message ?? "", /unique index users_lower_idx on users/);
  assert.match(found[3]?.lock ?? "", /^SHARE UPDATE EXCLUSIVE on users while the index builds/);
});

test("add-constraint-old-writes: ALTER DOMAIN ADD CONSTRAINT checks every column of the domain", async () => {
  const found = await violationsOf(
    RULE,
    "ALTER DOMAIN email ADD CONSTRAINT email_at CHECK (VALUE LIKE '%@%') NOT VALID;",
  );
  assert.deepEqual(summarize(found), ["1:add-constraint-old-writes"]);
  assert.match(found[0]?.message ?? "", /constraint email_at to domain email/);
  assert.match(found[0]?.safe ?? "", /ALTER DOMAIN email VALIDATE CONSTRAINT/);
});

test("add-constraint-old-writes: a table or domain this file created is exempt", async () => {
  const sql = [
    "CREATE TABLE invoices (id int, org_id int, total int);",
    "ALTER TABLE invoices ADD CHECK (total >= 0) NOT VALID, ADD FOREIGN KEY (org_id) REFERENCES orgs NOT VALID;",
    "ALTER TABLE invoices ADD PRIMARY KEY (id);",
    "CREATE UNIQUE INDEX invoices_org_idx ON invoices (org_id);",
    "CREATE DOMAIN cents AS int;",
    "ALTER DOMAIN cents ADD CHECK (VALUE >= 0);",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, sql), []);
});

test("add-constraint-old-writes: VALIDATE, USING INDEX, plain indexes and constraints on an added column pass", async () => {
  const sql = [
    "ALTER TABLE users VALIDATE CONSTRAINT age_ok;",
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;",
    "CREATE INDEX CONCURRENTLY users_name_idx ON users (name);",
    "ALTER TABLE users ADD COLUMN team_id int REFERENCES teams, ADD COLUMN score int DEFAULT 0 CHECK (score >= 0);",
    "ALTER TABLE users DROP CONSTRAINT old_check;",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, sql), []);
});

test("add-constraint-old-writes: suppressed with a reason when the running release already complies", async () => {
  const sql = [
    "-- baton:allow add-constraint-old-writes v11 validates age before saving",
    "ALTER TABLE users ADD CONSTRAINT age_ok CHECK (age >= 0) NOT VALID;",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, sql), []);
});

test("add-constraint-old-writes: PostgreSQL 18's ADD CONSTRAINT ... NOT NULL checks new writes too", async () => {
  const found = await violationsOf(RULE, "ALTER TABLE users ADD CONSTRAINT users_email_nn NOT NULL email NOT VALID;");
  assert.deepEqual(summarize(found), ["1:add-constraint-old-writes"]);
  assert.match(found[0]?.message ?? "", /NOT NULL constraint users_email_nn \(email\).*leaves email NULL fails/);
  assert.match(found[0]?.safe ?? "", /VALIDATE CONSTRAINT users_email_nn/);
});
