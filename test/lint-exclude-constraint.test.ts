import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "exclude-constraint";

test("exclude-constraint: flags ADD EXCLUDE on an existing table, named as PostgreSQL would name it", async () => {
  const found = await violationsOf(RULE, "ALTER TABLE bookings ADD EXCLUDE USING gist (room WITH =, during WITH &&);");
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.match(found[0]?.message ?? "", /bookings_room_during_excl/);
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on bookings for the whole index build and check");
  assert.match(found[0]?.safe ?? "", /no online way/);
});

test("exclude-constraint: passes in CREATE TABLE and on a table created in the same file", async () => {
  const create = "CREATE TABLE slots (room int, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&));";
  assert.deepEqual(await violationsOf(RULE, create), []);
  const fresh =
    "CREATE TABLE slots (room int, during tstzrange);\nALTER TABLE slots ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&);";
  assert.deepEqual(await violationsOf(RULE, fresh), []);
  assert.deepEqual(await violationsOf(RULE, "ALTER TABLE bookings ADD CONSTRAINT c CHECK (room > 0) NOT VALID;"), []);
});
