import { alterCommands, nodeAs, relationName } from "../ast.js";
import { indexTable, partitionKey } from "../relations.js";
import type { Finding, Rule } from "../rule.js";

export const setTablespace: Rule = {
  id: "set-tablespace",
  group: "lock",
  severity: "error",
  summary: "SET TABLESPACE copies the whole table or index to the new tablespace under ACCESS EXCLUSIVE",
  check(statement, context) {
    const moveAll = nodeAs(statement.node, "AlterTableMoveAllStmt");
    if (moveAll !== undefined) {
      const kind =
        moveAll.objtype === "OBJECT_INDEX"
          ? "index"
          : moveAll.objtype === "OBJECT_MATVIEW"
            ? "materialized view"
            : "table";
      return [
        {
          message: `moving every ${kind} of tablespace ${moveAll.orig_tablespacename} to ${moveAll.new_tablespacename} copies each one in turn, locking each exclusively, and keeps every lock until the transaction ends`,
          lock: `ACCESS EXCLUSIVE on every ${kind} moved, held until the transaction ends`,
          safe: safeText(
            kind === "index" ? "index" : "table",
            "<name>",
            moveAll.new_tablespacename ?? "<tablespace>",
            context.options.pgVersion,
          ),
        },
      ];
    }
    const alter = nodeAs(statement.node, "AlterTableStmt");
    const { relation, commands } = alterCommands(statement.node);
    const command = commands.find((c) => c.subtype === "AT_SetTableSpace");
    if (alter === undefined || command === undefined) return [];
    const name = relationName(relation);
    const index = alter.objtype === "OBJECT_INDEX";
    const table = index ? indexTable(context.history, name) : name;
    if (table !== undefined && context.isNewTable(table)) return [];
    // On a partitioned table (or its index) it only sets where future partitions go: nothing is copied.
    if (table !== undefined && partitionKey(context.history, table) !== undefined) return [];
    const tablespace = command.name ?? "<tablespace>";
    const findings: Finding[] = [
      {
        message: index
          ? `moving index ${name} to tablespace ${tablespace} copies all of it while it is locked exclusively; the planner locks every index of ${table ?? "the table"}, so nearly every query on ${table ?? "it"} waits`
          : `moving ${name} to tablespace ${tablespace} copies all of it while reads and writes of ${name} wait`,
        lock: index
          ? `ACCESS EXCLUSIVE on ${name} for the whole copy, until the transaction ends`
          : `ACCESS EXCLUSIVE on ${name} for the whole copy: reads and writes wait`,
        safe: safeText(index ? "index" : "table", name, tablespace, context.options.pgVersion),
      },
    ];
    return findings;
  },
};

function safeText(kind: "index" | "table", name: string, tablespace: string, pgVersion: number): string {
  if (kind === "index")
    return pgVersion >= 14
      ? [
          "Rebuild the index into the new tablespace concurrently (PostgreSQL 14+), in a migration that runs",
          "outside a transaction (mark the file `-- baton:no-transaction`):",
          `  REINDEX (TABLESPACE ${tablespace}) INDEX CONCURRENTLY ${name};`,
        ].join("\n")
      : [
          "Build a copy in the new tablespace concurrently and swap it in (outside a transaction, `-- baton:no-transaction`):",
          `  CREATE INDEX CONCURRENTLY ${name}_new ON <table> (<same columns>) TABLESPACE ${tablespace};`,
          `  DROP INDEX CONCURRENTLY ${name};`,
          `  ALTER INDEX ${name}_new RENAME TO ${name};`,
        ].join("\n");
  return [
    "PostgreSQL has no online way to move a table. Do it outside the migrations with a tool that copies",
    `the table while it stays in use, e.g. pg_repack --table ${name} --tablespace ${tablespace}, or in a`,
    "maintenance window; new tables can be created in the right tablespace (CREATE TABLE ... TABLESPACE).",
  ].join("\n");
}
