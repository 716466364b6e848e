import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSql } from "../src/lint/parse.js";

test("parse: statements carry their text and 1-based line and column, after comments", async () => {
  const sql = "-- first\nBEGIN;\n  /* note */ ALTER TABLE users\n    DROP COLUMN email;\nSELECT 1";
  const parsed = await parseSql(sql, "m.sql");
  assert.equal(parsed.syntaxError, undefined);
  assert.deepEqual(
    parsed.statements.map((s) => [s.kind, s.line, s.column, s.endLine, s.text]),
    [
      ["TransactionStmt", 2, 1, 2, "BEGIN"],
      ["AlterTableStmt", 3, 14, 4, "ALTER TABLE users\n    DROP COLUMN email"],
      ["SelectStmt", 5, 1, 5, "SELECT 1"],
    ],
  );
  assert.deepEqual(
    parsed.comments.map((c) => [c.text, c.line, c.column]),
    [
      ["-- first", 1, 1],
      ["/* note */", 3, 3],
    ],
  );
});

test("parse: byte offsets become characters, whatever the UTF-8 width before them", async () => {
  // é is 2 bytes, 😀 is 4 bytes and 2 UTF-16 units; columns count characters.
  const sql = "COMMENT ON TABLE t IS 'café 😀'; ALTER TABLE t DROP COLUMN ü;\nSELECT 'ü';";
  const parsed = await parseSql(sql, "m.sql");
  const [, alter, select] = parsed.statements;
  assert.equal(alter?.text, "ALTER TABLE t DROP COLUMN ü");
  assert.deepEqual([alter?.line, alter?.column], [1, 33]);
  assert.equal(select?.text, "SELECT 'ü'");
  assert.deepEqual([select?.line, select?.column], [2, 1]);
});

test("parse: a syntax error reports the parser's position, counted in characters", async () => {
  const parsed = await parseSql("SELECT '😀é';\nALTER TABLE users DROPP COLUMN x;", "bad.sql");
  assert.equal(parsed.statements.length, 0);
  assert.match(parsed.syntaxError?.message ?? "", /syntax error at or near "DROPP"/);
  assert.deepEqual([parsed.syntaxError?.line, parsed.syntaxError?.column], [2, 19]);
});

test("parse: empty and comment-only files have no statements and no error", async () => {
  for (const sql of ["", "\n", "-- nothing yet\n", "\uFEFF;"]) {
    const parsed = await parseSql(sql, "empty.sql");
    assert.deepEqual([parsed.statements.length, parsed.syntaxError], [0, undefined], JSON.stringify(sql));
  }
});

test("parse: the statements of a DO block follow it, placed where they are written", async () => {
  const sql = [
    "DO $$",
    "BEGIN",
    "  IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'i') THEN",
    "    CREATE INDEX i ON users (email);",
    "  END IF;",
    "  EXECUTE 'ALTER TABLE users DROP COLUMN legacy';",
    "END",
    "$$;",
    "DO LANGUAGE plperl $$ print 1 $$;",
  ].join("\n");
  const parsed = await parseSql(sql, "do.sql");
  const [block, index, drop, ...rest] = parsed.statements;
  assert.equal(block?.kind, "DoStmt");
  assert.deepEqual(
    [index?.kind, index?.line, index?.column, index?.text],
    ["IndexStmt", 4, 5, "CREATE INDEX i ON users (email)"],
  );
  assert.equal(index?.parent, block);
  assert.deepEqual([drop?.kind, drop?.line, drop?.text], ["AlterTableStmt", 6, "ALTER TABLE users DROP COLUMN legacy"]);
  // A plperl block is not looked into.
  assert.deepEqual(
    rest.map((s) => s.kind),
    ["DoStmt"],
  );
});
