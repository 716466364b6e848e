import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsIn, violationsOf } from "../src/lint/testing.js";

const RULE = "drop-default-of-not-null";

test("drop-default-of-not-null: an error when the history shows the column NOT NULL", async () => {
  const sources = [
    { file: "001.sql", sql: "CREATE TABLE orders (id bigserial PRIMARY KEY, status text NOT NULL DEFAULT 'new');" },
    { file: "002.sql", sql: "ALTER TABLE orders ALTER COLUMN status DROP DEFAULT;" },
  ];
  const found = await violationsIn(RULE, sources);
  assert.deepEqual(summarize(found), ["1:drop-default-of-not-null"]);
  assert.equal(found[0]?.severity, "error");
  assert.equal(found[0]?.group, "compat");
  assert.match(found[0]?.message ?? "", /orders\.status, which is NOT NULL \(declared, 001\.sql line 1\)/);
  assert.match(found[0]?.message ?? "", /INSERT of the running release that leaves status out fails/);
  assert.match(found[0]?.safe ?? "", /postdeploy/);
  assert.match(found[0]?.safe ?? "", /ALTER TABLE orders ALTER COLUMN status DROP DEFAULT;/);
  // Applied files are read for what they define.
  assert.deepEqual(summarize(await violationsIn(RULE, [{ ...sources[0]!, applied: true }, sources[1]!])), [
    "1:drop-default-of-not-null",
  ]);
});

test("drop-default-of-not-null: ADD COLUMN ... NOT NULL DEFAULT then DROP DEFAULT in one migration is an error", async () => {
  const sql = [
    "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';",
    "ALTER TABLE users ALTER COLUMN plan DROP DEFAULT;",
  ].join("\n");
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(summarize(found), ["2:drop-default-of-not-null"]);
  assert.equal(found[0]?.severity, "error");
  assert.match(found[0]?.message ?? "", /declared, line 1/);
});

test("drop-default-of-not-null: a warning when nothing says whether the column is NOT NULL", async () => {
  const found = await violationsOf(RULE, "ALTER TABLE users ALTER COLUMN plan DROP DEFAULT;");
  assert.deepEqual(summarize(found), ["1:drop-default-of-not-null"]);
  assert.equal(found[0]?.severity, "warning");
  assert.match(found[0]?.message ?? "", /if plan is NOT NULL \(the migrations linted here do not say\)/);
});

test("drop-default-of-not-null: SET NOT NULL, serial, a primary key, a CHECK IS NOT NULL, DROP IDENTITY and SET DEFAULT NULL count", async () => {
  const sql = [
    "CREATE TABLE IF NOT EXISTS other (x int);",
    "ALTER TABLE users ALTER COLUMN a SET NOT NULL;",
    "ALTER TABLE users ALTER COLUMN a DROP DEFAULT;",
    "ALTER TABLE users ADD CONSTRAINT b_nn CHECK (b IS NOT NULL) NOT VALID;",
    "ALTER TABLE users ALTER b SET DEFAULT NULL;",
    "ALTER TABLE users ALTER id DROP IDENTITY IF EXISTS;",
    "ALTER TABLE users ALTER c SET NOT NULL, ALTER c DROP DEFAULT;",
  ].join("\n");
  const found = await violationsIn(RULE, [
    { file: "001.sql", sql: "CREATE TABLE tickets (id serial, code int, PRIMARY KEY (code));", applied: true },
    {
      file: "002.sql",
      sql: "ALTER TABLE tickets ALTER id DROP DEFAULT;\nALTER TABLE tickets ALTER code DROP DEFAULT;",
    },
    { file: "003.sql", sql },
  ]);
  assert.deepEqual(
    found.map((v) => `${v.file}:${v.line}:${v.severity}`),
    ["002.sql:1:error", "002.sql:2:error", "003.sql:3:error", "003.sql:5:error", "003.sql:6:error", "003.sql:7:error"],
  );
  assert.match(
    found[3]?.message ?? "",
    /setting the default to NULL on users\.b, which is NOT NULL \(CHECK b_nn enforces it, line 4\)/,
  );
  assert.match(found[4]?.message ?? "", /an identity column always is/);
  assert.match(found[4]?.safe ?? "", /DROP IDENTITY;/);
});

test("drop-default-of-not-null: passes on nullable columns, new tables, new defaults, and renamed-away columns", async () => {
  const history = [
    "CREATE TABLE users (id int PRIMARY KEY, bio text, email text NOT NULL DEFAULT '', nick text NOT NULL DEFAULT 'x');",
    "ALTER TABLE users ALTER email DROP NOT NULL;",
    "ALTER TABLE users RENAME COLUMN nick TO handle;",
  ].join("\n");
  const sql = [
    "ALTER TABLE users ALTER bio DROP DEFAULT;",
    "ALTER TABLE users ALTER email DROP DEFAULT;",
    "ALTER TABLE users ALTER handle SET DEFAULT 'anon';",
    "ALTER TABLE users ALTER id DROP IDENTITY, ALTER id SET DEFAULT nextval('users_id_seq');",
    "ALTER TABLE users ALTER COLUMN bio DROP NOT NULL, ALTER COLUMN bio DROP DEFAULT;",
    "CREATE TABLE drafts (id int, body text NOT NULL DEFAULT '');",
    "ALTER TABLE drafts ALTER body DROP DEFAULT;",
  ].join("\n");
  const sources = [
    { file: "001.sql", sql: history, applied: true },
    { file: "002.sql", sql },
  ];
  assert.deepEqual(await violationsIn(RULE, sources), []);
  // The renamed column is followed back to its NOT NULL definition.
  const renamed = [sources[0]!, { file: "002.sql", sql: "ALTER TABLE users ALTER handle DROP DEFAULT;" }];
  assert.equal((await violationsIn(RULE, renamed))[0]?.severity, "error");
  // A CHECK dropped again proves nothing; unnamed, it is found by the name PostgreSQL gives it.
  const dropped = [
    sources[0]!,
    {
      file: "002.sql",
      sql: [
        "ALTER TABLE users ADD CHECK (bio IS NOT NULL AND bio <> email) NOT VALID;",
        "ALTER TABLE users DROP CONSTRAINT users_check;",
        "ALTER TABLE users ALTER bio DROP DEFAULT;",
      ].join("\n"),
    },
  ];
  assert.deepEqual(await violationsIn(RULE, dropped), []);
  // A column renamed away is another column now: unknown, so a warning.
  const away = [sources[0]!, { file: "002.sql", sql: "ALTER TABLE users ALTER nick DROP DEFAULT;" }];
  assert.equal((await violationsIn(RULE, away))[0]?.severity, "warning");
});

test("drop-default-of-not-null: ADD COLUMN and DROP DEFAULT in one ALTER TABLE, and PostgreSQL 18's NOT NULL constraint", async () => {
  const sql = [
    "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free', ALTER COLUMN plan DROP DEFAULT;",
    "ALTER TABLE users ADD CONSTRAINT users_tier_nn NOT NULL tier NOT VALID;",
    "ALTER TABLE users ALTER tier DROP DEFAULT;",
    "ALTER TABLE users ADD COLUMN note text DEFAULT '', ALTER COLUMN note DROP DEFAULT;",
  ].join("\n");
  const found = await violationsOf(RULE, sql);
  assert.deepEqual(
    found.map((v) => `${v.line}:${v.severity}`),
    ["1:error", "3:error"],
  );
  assert.match(found[0]?.message ?? "", /NOT NULL \(declared earlier in this statement\)/);
});
