import assert from "node:assert/strict";
import { test } from "node:test";
import { type Context, FileWalk } from "../src/lint/context.js";
import { describeLock } from "../src/lint/locks.js";
import { DEFAULT_OPTIONS, type LintOptions } from "../src/lint/options.js";
import { parseSql } from "../src/lint/parse.js";

interface Seen {
  text: string;
  inTransaction: boolean;
  opener: string | undefined;
  lockTimeout: boolean;
  held: string[];
  newTables: string[];
}

/** The context each statement of the SQL sees. */
async function walk(sql: string, options: Partial<LintOptions> = {}, probeTables: string[] = []): Promise<Seen[]> {
  const parsed = await parseSql(sql, "m.sql");
  const fileWalk = new FileWalk("m.sql", { ...DEFAULT_OPTIONS, ...options }, []);
  return parsed.statements.map((statement) => {
    const context: Context = fileWalk.context(statement);
    const seen = {
      text: statement.text,
      inTransaction: context.transaction !== undefined,
      opener: context.transaction?.begin?.text,
      lockTimeout: context.lockTimeout,
      held: context.transaction?.locks.map(describeLock) ?? [],
      newTables: probeTables.filter((t) => context.isNewTable(t)),
    };
    fileWalk.advance(statement);
    return seen;
  });
}

test("context: by default the file runs in one transaction; COMMIT ends it, BEGIN opens one", async () => {
  const seen = await walk("SELECT 1;\nCOMMIT;\nSELECT 2;\nBEGIN;\nSELECT 3;\nROLLBACK;\nSELECT 4;");
  assert.deepEqual(
    seen.map((s) => [s.text, s.inTransaction, s.opener]),
    [
      ["SELECT 1", true, undefined],
      ["COMMIT", true, undefined],
      ["SELECT 2", false, undefined],
      ["BEGIN", false, undefined],
      ["SELECT 3", true, "BEGIN"],
      ["ROLLBACK", true, "BEGIN"],
      ["SELECT 4", false, undefined],
    ],
  );
});

test("context: without the file transaction, statements run on their own until BEGIN", async () => {
  const seen = await walk("SELECT 1;\nSTART TRANSACTION;\nSELECT 2;\nCOMMIT AND CHAIN;\nSELECT 3;", {
    transaction: false,
  });
  assert.deepEqual(
    seen.map((s) => [s.text, s.inTransaction]),
    [
      ["SELECT 1", false],
      ["START TRANSACTION", false],
      ["SELECT 2", true],
      ["COMMIT AND CHAIN", true],
      ["SELECT 3", true],
    ],
  );
});

test("context: locks taken earlier in the transaction are held until it ends", async () => {
  const sql = "ALTER TABLE users ADD COLUMN a int;\nCREATE INDEX i ON orders (a);\nSELECT 1;\nCOMMIT;\nSELECT 2;";
  const seen = await walk(sql);
  assert.deepEqual(seen[2]?.held, ["ACCESS EXCLUSIVE on users", "SHARE on orders"]);
  assert.deepEqual(seen[4]?.held, []);
});

test("context: lock_timeout follows SET, SET LOCAL, RESET and the end of transactions", async () => {
  const sql = [
    "SELECT 0;",
    "SET lock_timeout = '5s';",
    "SELECT 1;",
    "SET lock_timeout TO DEFAULT;",
    "SELECT 2;",
    "BEGIN;",
    "SET LOCAL lock_timeout = 1000;",
    "SELECT 3;",
    "COMMIT;",
    "SELECT 4;",
  ].join("\n");
  const seen = await walk(sql, { transaction: false });
  assert.deepEqual(
    seen.filter((s) => s.text.startsWith("SELECT")).map((s) => [s.text, s.lockTimeout]),
    [
      ["SELECT 0", false],
      ["SELECT 1", true],
      ["SELECT 2", false],
      ["SELECT 3", true],
      ["SELECT 4", false],
    ],
  );
  assert.deepEqual(
    (await walk("SELECT 1;", { lockTimeout: true })).map((s) => s.lockTimeout),
    [true],
  );
});

test("context: tables created in the file are new, through renames, until dropped", async () => {
  const sql = [
    "SELECT 0;",
    "CREATE TABLE IF NOT EXISTS audit.drafts (id int);",
    "ALTER TABLE audit.drafts RENAME TO notes;",
    "CREATE TABLE summary AS SELECT 1 AS n;",
    "DROP TABLE summary;",
    "SELECT 1;",
  ].join("\n");
  const seen = await walk(sql, {}, ["audit.drafts", "audit.notes", "summary", "users"]);
  assert.deepEqual(
    seen.map((s) => s.newTables),
    [[], [], ["audit.drafts"], ["audit.notes"], ["audit.notes", "summary"], ["audit.notes"]],
  );
});

test("context: the statements of a DO block share one transaction, even in autocommit", async () => {
  const sql = "DO $$ BEGIN ALTER TABLE a ADD COLUMN x int; ALTER TABLE b ADD COLUMN y int; END $$;\nSELECT 1;";
  const seen = await walk(sql, { transaction: false });
  assert.deepEqual(
    seen.map((s) => [s.text, s.inTransaction, s.held]),
    [
      ["DO $$ BEGIN ALTER TABLE a ADD COLUMN x int; ALTER TABLE b ADD COLUMN y int; END $$", false, []],
      ["ALTER TABLE a ADD COLUMN x int", true, []],
      ["ALTER TABLE b ADD COLUMN y int", true, ["ACCESS EXCLUSIVE on a"]],
      ["SELECT 1", false, []],
    ],
  );
});
