import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsIn } from "../src/lint/testing.js";

const RULE = "attach-partition-without-check";
const PARENT = {
  file: "1.sql",
  sql: "CREATE TABLE events (id bigint, at date) PARTITION BY RANGE (at);",
  applied: true,
};
const ATTACH = "ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');";

test("attach-partition-without-check: warns when no validated CHECK proves the bound, with the CHECK to add", async () => {
  const found = await violationsIn(RULE, [PARENT, { file: "2.sql", sql: ATTACH }]);
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.equal(found[0]?.severity, "warning");
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on events_2024 (SHARE UPDATE EXCLUSIVE on events) for the whole scan");
  assert.match(
    found[0]?.safe ?? "",
    /ADD CONSTRAINT events_2024_bound CHECK \(at IS NOT NULL AND at >= '2024-01-01' AND at < '2025-01-01'\) NOT VALID;/,
  );
  assert.match(found[0]?.safe ?? "", /VALIDATE CONSTRAINT events_2024_bound;/);
});

test("attach-partition-without-check: an error before PostgreSQL 12, when the parent is locked for the scan", async () => {
  const found = await violationsIn(RULE, [PARENT, { file: "2.sql", sql: ATTACH }], { pgVersion: 11 });
  assert.equal(found[0]?.severity, "error");
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on events and events_2024 for the whole scan");
});

test("attach-partition-without-check: a CHECK still NOT VALID does not count; a validated one passes", async () => {
  const add =
    "ALTER TABLE events_2024 ADD CONSTRAINT b CHECK (at IS NOT NULL AND at >= '2024-01-01' AND at < '2025-01-01') NOT VALID;";
  const notValidated = [PARENT, { file: "2.sql", sql: add }, { file: "3.sql", sql: ATTACH }];
  assert.deepEqual(summarize(await violationsIn(RULE, notValidated)), [`1:${RULE}`]);
  const validated = [
    PARENT,
    { file: "2.sql", sql: add },
    { file: "3.sql", sql: `ALTER TABLE events_2024 VALIDATE CONSTRAINT b;\n${ATTACH}` },
  ];
  assert.deepEqual(await violationsIn(RULE, validated), []);
  // A CHECK on another column proves nothing about the key.
  const other = [PARENT, { file: "2.sql", sql: `ALTER TABLE events_2024 ADD CHECK (id > 0);\n${ATTACH}` }];
  assert.deepEqual(summarize(await violationsIn(RULE, other)), [`2:${RULE}`]);
});

test("attach-partition-without-check: a partition created in the same file is empty and passes", async () => {
  const sql = `CREATE TABLE events_2024 (LIKE events INCLUDING ALL);\n${ATTACH}`;
  assert.deepEqual(await violationsIn(RULE, [PARENT, { file: "2.sql", sql }]), []);
});

test("attach-partition-without-check: a default partition is scanned too (an error), unless a CHECK excludes the bound", async () => {
  const withDefault = {
    file: "1.sql",
    sql: `${PARENT.sql}\nCREATE TABLE events_other PARTITION OF events DEFAULT;`,
    applied: true,
  };
  const sql = `CREATE TABLE events_2024 (LIKE events INCLUDING ALL);\n${ATTACH}`;
  const found = await violationsIn(RULE, [withDefault, { file: "2.sql", sql }]);
  assert.deepEqual(summarize(found), [`2:${RULE}`]);
  assert.equal(found[0]?.severity, "error");
  assert.equal(found[0]?.lock, "ACCESS EXCLUSIVE on events_other for the whole scan");
  assert.match(
    found[0]?.safe ?? "",
    /CHECK \(NOT \(at IS NOT NULL AND at >= '2024-01-01' AND at < '2025-01-01'\)\) NOT VALID;/,
  );
  const excluded = {
    file: "2.sql",
    sql: "ALTER TABLE events_other ADD CONSTRAINT x CHECK (NOT (at IS NOT NULL AND at >= '2024-01-01' AND at < '2025-01-01'));",
  };
  assert.deepEqual(await violationsIn(RULE, [withDefault, excluded, { file: "3.sql", sql }]), []);
});

test("attach-partition-without-check: list and hash bounds get their CHECK written out", async () => {
  const list = [
    { file: "1.sql", sql: "CREATE TABLE orders (region text) PARTITION BY LIST (region);", applied: true },
    { file: "2.sql", sql: "ALTER TABLE orders ATTACH PARTITION orders_eu FOR VALUES IN ('de', 'fr');" },
  ];
  const [listFound] = await violationsIn(RULE, list);
  assert.match(listFound?.safe ?? "", /CHECK \(region IS NOT NULL AND region IN \('de', 'fr'\)\)/);
  const hash = [
    { file: "1.sql", sql: "CREATE TABLE carts (id bigint) PARTITION BY HASH (id);", applied: true },
    { file: "2.sql", sql: "ALTER TABLE carts ATTACH PARTITION carts_1 FOR VALUES WITH (MODULUS 4, REMAINDER 1);" },
  ];
  const [hashFound] = await violationsIn(RULE, hash);
  assert.match(hashFound?.safe ?? "", /CHECK \(satisfies_hash_partition\('carts'::regclass, 4, 1, id\)\)/);
});
