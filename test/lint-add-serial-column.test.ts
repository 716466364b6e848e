import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "add-serial-column";

test("add-serial-column: flags serial, bigserial and identity columns added to an existing table", async () => {
  const sql = [
    "ALTER TABLE events ADD COLUMN seq bigserial;",
    "ALTER TABLE events ADD COLUMN n smallserial;",
    "ALTER TABLE events ADD COLUMN k int GENERATED ALWAYS AS IDENTITY;",
  ].join("\n");
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), [`1:${RULE}`, `2:${RULE}`, `3:${RULE}`]);
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on events for the whole rewrite: reads and writes wait");
  assert.match(found[0]?.safe ?? "", /ALTER TABLE events ADD COLUMN seq bigint;/);
  assert.match(found[0]?.safe ?? "", /CREATE SEQUENCE events_seq_seq AS bigint OWNED BY events\.seq;/);
  assert.match(found[1]?.safe ?? "", /ADD COLUMN n smallint;/);
  assert.match(found[2]?.message ?? "", /identity column k/);
  assert.match(found[2]?.safe ?? "", /ADD COLUMN k int4;/);
});

test("add-serial-column: a plain integer column passes, and serial columns of new tables", async () => {
  assert.deepEqual(await violationsOf(RULE, "ALTER TABLE events ADD COLUMN seq bigint;"), []);
  const fresh = "CREATE TABLE t (name text);\nALTER TABLE t ADD COLUMN id bigserial PRIMARY KEY;";
  assert.deepEqual(await violationsOf(RULE, fresh), []);
  assert.deepEqual(await violationsOf(RULE, "CREATE TABLE u (id bigint GENERATED ALWAYS AS IDENTITY);"), []);
});
