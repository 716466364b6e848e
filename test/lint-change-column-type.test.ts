import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsIn, violationsOf } from "../src/lint/testing.js";

const RULE = "change-column-type";

function withTable(columns: string, change: string) {
  return [
    { file: "001.sql", sql: `CREATE TABLE t (${columns});`, applied: true },
    { file: "002.sql", sql: change },
  ];
}

test("change-column-type: flags a rewriting change, naming the old and new types", async () => {
  const found = await violationsIn(RULE, withTable("id integer", "ALTER TABLE t ALTER COLUMN id TYPE bigint;"));
  assert.deepEqual(summarize(found), [`1:${RULE}`]);
  assert.equal(found[0]?.severity, "error");
  assert.match(found[0]?.message ?? "", /t\.id from int4 to int8 rewrites t/);
  assert.match(found[0]?.safe ?? "", /ADD COLUMN id_new int8/);
});

test("change-column-type: the known widenings pass", async () => {
  const cases: [string, string][] = [
    ["name varchar(50)", "ALTER TABLE t ALTER COLUMN name TYPE varchar(100);"],
    ["name character varying(50)", "ALTER TABLE t ALTER name TYPE text;"],
    ["name varchar(50)", "ALTER TABLE t ALTER name TYPE varchar;"],
    ["price numeric(10,2)", "ALTER TABLE t ALTER price TYPE numeric(12,2);"],
    ["price decimal(10,2)", "ALTER TABLE t ALTER price TYPE numeric;"],
    ["net cidr", "ALTER TABLE t ALTER net TYPE inet;"],
    ["body text", "ALTER TABLE t ALTER body TYPE varchar;"],
  ];
  for (const [column, change] of cases)
    assert.deepEqual(await violationsIn(RULE, withTable(column, change)), [], change);
});

test("change-column-type: narrowing, a new scale, USING and a collation are flagged", async () => {
  const cases: [string, string][] = [
    ["name varchar(50)", "ALTER TABLE t ALTER name TYPE varchar(20);"],
    ["price numeric(10,2)", "ALTER TABLE t ALTER price TYPE numeric(12,3);"],
    ["name varchar(50)", "ALTER TABLE t ALTER name TYPE varchar(100) USING trim(name);"],
    ["name text", 'ALTER TABLE t ALTER name TYPE text COLLATE "C";'],
    ["tags varchar(10)[]", "ALTER TABLE t ALTER tags TYPE text;"],
  ];
  for (const [column, change] of cases)
    assert.deepEqual(summarize(await violationsIn(RULE, withTable(column, change))), [`1:${RULE}`], change);
});

test("change-column-type: follows renames and earlier type changes back to the column's definition", async () => {
  const sources = [
    { file: "001.sql", sql: "CREATE TABLE accounts (title varchar(20));", applied: true },
    { file: "002.sql", sql: "ALTER TABLE accounts RENAME COLUMN title TO label;", applied: true },
    {
      file: "003.sql",
      sql: "ALTER TABLE accounts ALTER label TYPE varchar(40);\nALTER TABLE accounts ALTER label TYPE varchar(80);",
    },
  ];
  assert.deepEqual(await violationsIn(RULE, sources), []);
});

test("change-column-type: with the current type unknown, a possible widening is a warning, anything else an error", async () => {
  const widening = await violationsOf(RULE, "ALTER TABLE users ALTER COLUMN email TYPE text;");
  assert.deepEqual(summarize(widening), [`1:${RULE}`]);
  assert.equal(widening[0]?.severity, "warning");
  const other = await violationsOf(RULE, "ALTER TABLE users ALTER COLUMN id TYPE bigint;");
  assert.equal(other[0]?.severity, "error");
});

test("change-column-type: a table created in the same file passes", async () => {
  assert.deepEqual(await violationsOf(RULE, "CREATE TABLE t (id int);\nALTER TABLE t ALTER id TYPE bigint;"), []);
});
