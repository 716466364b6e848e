import { nodeAs, relationName } from "../ast.js";
import type { Rule } from "../rule.js";

export const createIndexNonConcurrent: Rule = {
  id: "create-index-non-concurrent",
  group: "lock",
  severity: "error",
  summary: "CREATE INDEX without CONCURRENTLY blocks every write to the table while the index builds",
  check(statement, context) {
    const index = nodeAs(statement.node, "IndexStmt");
    if (index === undefined || index.concurrent) return [];
    const table = relationName(index.relation);
    if (context.isNewTable(table)) return [];
    const concurrent = statement.text.replace(/^(CREATE\s+(?:UNIQUE\s+)?INDEX)\b/i, "$1 CONCURRENTLY");
    return [
      {
        message: `CREATE INDEX on ${table} blocks INSERT, UPDATE and DELETE on ${table} until the index is built (minutes on a large table)`,
        lock: `SHARE on ${table} for the whole build: writes wait, reads go on`,
        safe: [
          "Build it concurrently, in a migration that runs outside a transaction (mark the file",
          "`-- baton:no-transaction` and tell your migration tool so):",
          `  ${concurrent};`,
          "If it fails it leaves an INVALID index behind: DROP INDEX CONCURRENTLY it and run it again.",
        ].join("\n"),
      },
    ];
  },
};
