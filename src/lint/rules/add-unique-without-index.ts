import type { ColumnDef, Constraint } from "libpg-query";
import {
  alterCommands,
  columnConstraints,
  defaultConstraintName,
  formatType,
  names,
  nodeAs,
  relationName,
  sqlType,
} from "../ast.js";
import type { Finding, Rule } from "../rule.js";
import { NEXT_MIGRATION } from "../safe-sql.js";

export const addUniqueWithoutIndex: Rule = {
  id: "add-unique-without-index",
  group: "lock",
  severity: "error",
  summary:
    "ADD UNIQUE or PRIMARY KEY builds its index under ACCESS EXCLUSIVE instead of USING an index built concurrently",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    const findings: Finding[] = [];
    for (const command of commands) {
      const constraint = nodeAs(command.def, "Constraint");
      if (command.subtype === "AT_AddConstraint" && constraint !== undefined && isKey(constraint))
        if (constraint.indexname === undefined)
          findings.push(finding(table, constraint, names(constraint.keys), undefined));
      const column = nodeAs(command.def, "ColumnDef");
      if (command.subtype !== "AT_AddColumn" || column === undefined) continue;
      for (const c of columnConstraints(column))
        if (isKey(c)) findings.push(finding(table, c, [column.colname ?? "?"], typeText(column)));
    }
    return findings;
  },
};

function isKey(constraint: Constraint): boolean {
  return constraint.contype === "CONSTR_UNIQUE" || constraint.contype === "CONSTR_PRIMARY";
}

/** type: the added column's type, when the key is declared on a new column. */
function finding(table: string, constraint: Constraint, columns: string[], type: string | undefined): Finding {
  const newColumn = type !== undefined;
  const primary = constraint.contype === "CONSTR_PRIMARY";
  const kind = primary ? "PRIMARY KEY" : "UNIQUE";
  const name = constraint.conname ?? defaultConstraintName(table, primary ? [] : columns, primary ? "pkey" : "key");
  const nullsNotDistinct = constraint.nulls_not_distinct ? " NULLS NOT DISTINCT" : "";
  const steps = [
    ...(newColumn
      ? [
          `Add the column without ${kind}; then, in a migration that runs outside a transaction (mark the file`,
          "`-- baton:no-transaction`), build the index without blocking writes; then attach it (a brief lock, no build):",
          `  ALTER TABLE ${table} ADD COLUMN ${columns[0]} ${type ?? "<type>"};`,
          `  ${NEXT_MIGRATION}`,
        ]
      : [
          "Build the index first without blocking writes, in a migration that runs outside a transaction (mark",
          "the file `-- baton:no-transaction`), then attach it (a brief lock, no build):",
        ]),
    `  CREATE UNIQUE INDEX CONCURRENTLY ${name} ON ${table} (${columns.join(", ")})${nullsNotDistinct};`,
    `  ${NEXT_MIGRATION}`,
    `  ALTER TABLE ${table} ADD CONSTRAINT ${name} ${kind} USING INDEX ${name};`,
  ];
  if (primary)
    steps.push(
      `PRIMARY KEY USING INDEX also sets NOT NULL on ${columns.join(", ")}, which scans ${table} under the lock`,
      "unless the column is NOT NULL already: prove it first with a validated CHECK (see set-not-null).",
    );
  return {
    message: `adding ${kind} ${name} to ${table} builds its unique index inside the ALTER TABLE, reading every row while reads and writes of ${table} wait`,
    lock: `ACCESS EXCLUSIVE on ${table} for the whole index build`,
    safe: steps.join("\n"),
  };
}

function typeText(column: ColumnDef): string {
  const type = sqlType(column.typeName);
  return type === undefined ? "<type>" : formatType(type);
}
