import type { ColumnDef } from "libpg-query";
import { alterCommands, columnConstraints, formatType, nodeAs, relationName, sqlType } from "../ast.js";
import type { Finding, Rule } from "../rule.js";
import { notNullSequence } from "../safe-sql.js";

// serial types carry their own default (nextval); that rewrite is another rule's business.
const SERIAL = new Set(["serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"]);

export const addColumnNotNullNoDefault: Rule = {
  id: "add-column-not-null-no-default",
  group: "compat",
  severity: "error",
  summary: "ADD COLUMN ... NOT NULL without a default fails on a table with rows and breaks the old INSERTs",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    const findings: Finding[] = [];
    for (const command of commands) {
      const column = nodeAs(command.def, "ColumnDef");
      if (command.subtype !== "AT_AddColumn" || column === undefined || !isNotNull(column)) continue;
      const type = sqlType(column.typeName);
      if (type === undefined || SERIAL.has(type.name)) continue;
      const name = column.colname ?? "?";
      const typeText = formatType(type);
      if (!hasDefault(column)) {
        findings.push({
          message: `adding NOT NULL column ${name} to ${table} without a default fails if ${table} has rows, and the running release's INSERTs, which do not set ${name}, would fail`,
          lock: `ACCESS EXCLUSIVE on ${table}`,
          safe: [
            "Give it a default the running release can live with (PostgreSQL 11+ stores a constant default without rewriting):",
            `  ALTER TABLE ${table} ADD COLUMN ${name} ${typeText} NOT NULL DEFAULT <value>;`,
            "or add it nullable, backfill it in batches, then enforce NOT NULL without a long lock:",
            `  ALTER TABLE ${table} ADD COLUMN ${name} ${typeText};`,
            ...notNullSequence(table, name, context.options.pgVersion)
              .split("\n")
              .map((line) => `  ${line}`),
          ].join("\n"),
        });
      } else if (context.options.pgVersion < 11) {
        findings.push({
          message: `before PostgreSQL 11, adding column ${name} with a default rewrites all of ${table}`,
          lock: `ACCESS EXCLUSIVE on ${table} for the whole rewrite`,
          safe: [
            "Add it nullable without a default, set the default for new rows, backfill in batches:",
            `  ALTER TABLE ${table} ADD COLUMN ${name} ${typeText};`,
            `  ALTER TABLE ${table} ALTER COLUMN ${name} SET DEFAULT <value>;`,
            ...notNullSequence(table, name, context.options.pgVersion)
              .split("\n")
              .map((line) => `  ${line}`),
          ].join("\n"),
        });
      }
    }
    return findings;
  },
};

/** NOT NULL, or PRIMARY KEY (which implies it); identity and generated columns fill themselves. */
function isNotNull(column: ColumnDef): boolean {
  const constraints = columnConstraints(column);
  if (constraints.some((c) => c.contype === "CONSTR_IDENTITY" || c.contype === "CONSTR_GENERATED")) return false;
  return (
    column.is_not_null === true ||
    constraints.some((c) => c.contype === "CONSTR_NOTNULL" || c.contype === "CONSTR_PRIMARY")
  );
}

/** A DEFAULT other than DEFAULT NULL. */
function hasDefault(column: ColumnDef): boolean {
  return columnConstraints(column).some(
    (c) => c.contype === "CONSTR_DEFAULT" && nodeAs(c.raw_expr, "A_Const")?.isnull !== true,
  );
}
