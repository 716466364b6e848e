import { names, nodeAs } from "../ast.js";
import type { Rule } from "../rule.js";

export const enumAddValueInTransaction: Rule = {
  id: "enum-add-value-in-transaction",
  group: "lock",
  severity: "error",
  summary: "ALTER TYPE ... ADD VALUE inside a transaction block fails before PostgreSQL 12",
  check(statement, context) {
    const alter = nodeAs(statement.node, "AlterEnumStmt");
    // RENAME VALUE has an oldVal; ADD VALUE has only the new one.
    if (alter?.newVal === undefined || alter.oldVal !== undefined) return [];
    if (context.options.pgVersion >= 12 || context.transaction === undefined) return [];
    const type = names(alter.typeName).join(".");
    const begin = context.transaction.begin;
    const where =
      begin === undefined
        ? "in the transaction the migration tool wraps each file in"
        : begin.kind === "DoStmt"
          ? `inside the DO block at line ${begin.line}`
          : begin.kind !== "TransactionStmt"
            ? `inside the function call at line ${begin.line}, which runs as one transaction`
            : `inside the transaction opened at line ${begin.line}`;
    return [
      {
        message: `ALTER TYPE ${type} ADD VALUE cannot run inside a transaction block before PostgreSQL 12, and this statement runs ${where}: PostgreSQL rejects it and the migration fails`,
        safe: [
          "Give it a migration file of its own that runs outside a transaction: mark the file",
          "`-- baton:no-transaction` and tell the migration tool so:",
          `  ALTER TYPE ${type} ADD VALUE${alter.skipIfNewValExists ? " IF NOT EXISTS" : ""} '${alter.newVal.replaceAll("'", "''")}';`,
          "Deploy code that writes the new value only after this migration has run.",
        ].join("\n"),
      },
    ];
  },
};
