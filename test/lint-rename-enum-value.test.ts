import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsIn, violationsOf } from "../src/lint/testing.js";

const RULE = "rename-enum-value";

test("rename-enum-value: flags RENAME VALUE of an existing enum, as an error", async () => {
  const [found, ...rest] = await violationsOf(RULE, "ALTER TYPE mood RENAME VALUE 'sad' TO 'unhappy';");
  assert.equal(rest.length, 0);
  assert.equal(found?.severity, "error");
  assert.equal(found?.group, "compat");
  assert.match(found?.message ?? "", /renaming value 'sad' of enum mood to 'unhappy'/);
  assert.match(found?.message ?? "", /invalid input value for enum mood: "sad"/);
  assert.match(found?.safe ?? "", /ALTER TYPE mood ADD VALUE IF NOT EXISTS 'unhappy'/);
  assert.match(found?.safe ?? "", /UPDATE <table> SET <column> = 'unhappy' WHERE <column> = 'sad'/);
});

test("rename-enum-value: the safe form (ADD VALUE, then backfill) passes", async () => {
  const sql = ["ALTER TYPE mood ADD VALUE IF NOT EXISTS 'unhappy';", "ALTER TYPE mood ADD VALUE 'meh' BEFORE 'sad';"];
  assert.deepEqual(await violationsOf(RULE, sql.join("\n")), []);
});

test("rename-enum-value: an enum this file created passes, one created by an earlier file does not", async () => {
  const created = "CREATE TYPE audit.level AS ENUM ('low', 'hi');\nALTER TYPE audit.level RENAME VALUE 'hi' TO 'high';";
  assert.deepEqual(await violationsOf(RULE, created), []);
  const sources = [
    { file: "001.sql", sql: "CREATE TYPE public.level AS ENUM ('low', 'hi');", applied: true },
    { file: "002.sql", sql: "ALTER TYPE level RENAME VALUE 'hi' TO 'high';" },
  ];
  assert.deepEqual(summarize(await violationsIn(RULE, sources)), ["1:rename-enum-value"]);
});
