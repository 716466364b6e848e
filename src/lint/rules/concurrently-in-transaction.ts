import { alterCommands, nodeAs, optionEnabled } from "../ast.js";
import type { Context } from "../context.js";
import type { Rule } from "../rule.js";
import type { Statement } from "../statement.js";

export const concurrentlyInTransaction: Rule = {
  id: "concurrently-in-transaction",
  group: "lock",
  severity: "error",
  summary: "CONCURRENTLY cannot run inside a transaction block: PostgreSQL refuses and the migration fails",
  check(statement, context) {
    const what = concurrentCommand(statement);
    if (what === undefined || context.transaction === undefined) return [];
    return [
      {
        message: `${what} cannot run inside a transaction block, and this statement runs ${where(context)}: PostgreSQL rejects it and the migration fails`,
        safe: [
          "Give it a migration file of its own that runs outside a transaction: mark the file",
          "`-- baton:no-transaction` and tell the migration tool (node-pg-migrate: pgm.noTransaction();",
          "Rails: disable_ddl_transaction!; Django: atomic = False; Flyway: executeInTransaction=false).",
          "Keep it one statement per file: a tool that sends several statements in one query runs them in one transaction.",
        ].join("\n"),
      },
    ];
  },
};

function concurrentCommand(statement: Statement): string | undefined {
  const node = statement.node;
  if (nodeAs(node, "IndexStmt")?.concurrent) return "CREATE INDEX CONCURRENTLY";
  const drop = nodeAs(node, "DropStmt");
  if (drop?.concurrent) return "DROP INDEX CONCURRENTLY";
  const reindex = nodeAs(node, "ReindexStmt");
  if (optionEnabled(reindex?.params, "concurrently")) return "REINDEX CONCURRENTLY";
  const detach = alterCommands(node).commands.some(
    (c) => c.subtype === "AT_DetachPartition" && nodeAs(c.def, "PartitionCmd")?.concurrent,
  );
  return detach ? "DETACH PARTITION CONCURRENTLY" : undefined;
}

function where(context: Context): string {
  const begin = context.transaction?.begin;
  if (begin === undefined)
    return "in the transaction the migration tool wraps each file in (add `-- baton:no-transaction` if your tool does not)";
  if (begin.kind === "DoStmt") return `inside the DO block at line ${begin.line}`;
  if (begin.kind !== "TransactionStmt")
    return `inside the function call at line ${begin.line}, which runs as one transaction`;
  return `inside the transaction opened at line ${begin.line}`;
}
