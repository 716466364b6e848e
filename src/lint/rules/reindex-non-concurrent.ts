import { nodeAs, optionEnabled, relationName } from "../ast.js";
import { indexTable } from "../relations.js";
import type { Rule } from "../rule.js";

const KINDS: Record<string, string> = {
  REINDEX_OBJECT_INDEX: "INDEX",
  REINDEX_OBJECT_TABLE: "TABLE",
  REINDEX_OBJECT_SCHEMA: "SCHEMA",
  REINDEX_OBJECT_DATABASE: "DATABASE",
  REINDEX_OBJECT_SYSTEM: "SYSTEM",
};

export const reindexNonConcurrent: Rule = {
  id: "reindex-non-concurrent",
  group: "lock",
  severity: "error",
  summary: "REINDEX without CONCURRENTLY blocks writes, and in practice reads, while every index is rebuilt",
  check(statement, context) {
    const reindex = nodeAs(statement.node, "ReindexStmt");
    if (reindex === undefined || optionEnabled(reindex.params, "concurrently")) return [];
    const kind = KINDS[reindex.kind ?? ""] ?? "INDEX";
    const target = reindex.relation === undefined ? (reindex.name ?? "") : relationName(reindex.relation);
    const table = kind === "TABLE" ? target : kind === "INDEX" ? indexTable(context.history, target) : undefined;
    if (table !== undefined && context.isNewTable(table)) return [];
    const what =
      kind === "INDEX"
        ? `index ${target}`
        : kind === "TABLE"
          ? `every index of ${target}`
          : `every index in ${kind.toLowerCase()} ${target}`;
    const on = table ?? (kind === "INDEX" ? "its table" : "each table");
    return [
      {
        message: `REINDEX rebuilds ${what} while writes to ${on} wait; ${kind === "INDEX" ? "the index" : "each index"} being rebuilt is locked exclusively, and since the planner locks every index of a table, most reads of ${on} wait too`,
        lock: `SHARE on ${on} and ACCESS EXCLUSIVE on each index for its whole rebuild, until the transaction ends`,
        safe: safe(kind, target, context.options.pgVersion),
      },
    ];
  },
};

function safe(kind: string, target: string, pgVersion: number): string {
  if (kind === "SYSTEM")
    return "REINDEX SYSTEM has no concurrent form: it belongs in a maintenance window, not in a migration.";
  if (pgVersion >= 12)
    return [
      "Rebuild concurrently (PostgreSQL 12+), in a migration that runs outside a transaction (mark the file",
      "`-- baton:no-transaction` and tell your migration tool so):",
      `  REINDEX ${kind} CONCURRENTLY ${target};`,
      "If it fails it leaves an INVALID index named <index>_ccnew behind: DROP INDEX CONCURRENTLY it and run it again.",
    ].join("\n");
  return [
    "PostgreSQL before 12 has no REINDEX CONCURRENTLY. Build a copy concurrently and swap it in, for each index",
    "(outside a transaction, `-- baton:no-transaction`):",
    "  CREATE INDEX CONCURRENTLY <index>_new ON <table> (<same columns>);",
    "  DROP INDEX CONCURRENTLY <index>;",
    "  ALTER INDEX <index>_new RENAME TO <index>;",
    "An index behind a constraint is swapped with ALTER TABLE ... ADD CONSTRAINT ... USING INDEX instead.",
  ].join("\n");
}
