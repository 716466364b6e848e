import type { Constraint } from "libpg-query";
import {
  alterCommands,
  columnConstraints,
  defaultConstraintName,
  nodeAs,
  referencedColumns,
  relationName,
} from "../ast.js";
import type { Finding, Rule } from "../rule.js";
import { NEXT_MIGRATION } from "../safe-sql.js";

export const addCheckWithoutNotValid: Rule = {
  id: "add-check-without-not-valid",
  group: "lock",
  severity: "error",
  summary: "a CHECK constraint added without NOT VALID scans the whole table while reads and writes wait",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    const findings: Finding[] = [];
    for (const command of commands) {
      const constraint = nodeAs(command.def, "Constraint");
      if (
        command.subtype === "AT_AddConstraint" &&
        constraint?.contype === "CONSTR_CHECK" &&
        !constraint.skip_validation
      ) {
        const single = commands.length === 1 ? `${statement.text} NOT VALID;` : undefined;
        findings.push(finding(table, constraint, referencedColumns(constraint.raw_expr), single));
      }
      const column = nodeAs(command.def, "ColumnDef");
      if (command.subtype !== "AT_AddColumn" || column === undefined) continue;
      for (const c of columnConstraints(column)) {
        if (c.contype === "CONSTR_CHECK" && !c.skip_validation)
          findings.push(finding(table, c, [column.colname ?? "?"], undefined));
      }
    }
    return findings;
  },
};

function finding(table: string, constraint: Constraint, columns: string[], notValidSql: string | undefined): Finding {
  const name = constraint.conname ?? defaultConstraintName(table, columns.slice(0, 1), "check");
  const add = notValidSql ?? `ALTER TABLE ${table} ADD CONSTRAINT ${name} CHECK (<condition>) NOT VALID;`;
  return {
    message: `adding CHECK constraint ${name} on ${table} reads every row to validate it before it commits`,
    lock: `ACCESS EXCLUSIVE on ${table} for the whole scan: reads and writes wait`,
    safe: [
      "Add it NOT VALID (a brief lock; new writes are checked at once), then validate it in a later",
      "transaction, which takes only SHARE UPDATE EXCLUSIVE: reads and writes go on.",
      `  ${add}`,
      `  ${NEXT_MIGRATION}`,
      `  ALTER TABLE ${table} VALIDATE CONSTRAINT ${name};`,
    ].join("\n"),
  };
}
