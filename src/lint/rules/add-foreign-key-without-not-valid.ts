import type { Constraint } from "libpg-query";
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

export const addForeignKeyWithoutNotValid: Rule = {
  id: "add-foreign-key-without-not-valid",
  group: "lock",
  severity: "error",
  summary: "a FOREIGN KEY added without NOT VALID checks every row while writes to both tables wait",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    const findings: Finding[] = [];
    for (const command of commands) {
      const constraint = nodeAs(command.def, "Constraint");
      if (command.subtype === "AT_AddConstraint" && constraint?.contype === "CONSTR_FOREIGN") {
        if (constraint.skip_validation) continue;
        const name = constraint.conname ?? defaultConstraintName(table, names(constraint.fk_attrs), "fkey");
        const single = commands.length === 1 ? statement.text : undefined;
        findings.push(finding(table, constraint, name, single === undefined ? [] : [`${single} NOT VALID;`]));
      }
      const column = nodeAs(command.def, "ColumnDef");
      if (command.subtype !== "AT_AddColumn" || column === undefined) continue;
      for (const c of columnConstraints(column)) {
        if (c.contype !== "CONSTR_FOREIGN" || c.skip_validation) continue;
        const columnName = column.colname ?? "?";
        const type = sqlType(column.typeName);
        const name = c.conname ?? defaultConstraintName(table, [columnName], "fkey");
        const steps = [
          `ALTER TABLE ${table} ADD COLUMN ${columnName} ${type === undefined ? "<type>" : formatType(type)};`,
          `ALTER TABLE ${table} ADD CONSTRAINT ${name} FOREIGN KEY (${columnName}) ${references(c)} NOT VALID;`,
        ];
        findings.push(finding(table, c, name, steps));
      }
    }
    return findings;
  },
};

function references(constraint: Constraint): string {
  const columns = names(constraint.pk_attrs);
  return `REFERENCES ${relationName(constraint.pktable)}${columns.length > 0 ? ` (${columns.join(", ")})` : ""}`;
}

function finding(table: string, constraint: Constraint, name: string, addSteps: string[]): Finding {
  const target = relationName(constraint.pktable);
  const add =
    addSteps.length > 0
      ? addSteps
      : [`ALTER TABLE ${table} ADD CONSTRAINT ${name} FOREIGN KEY (...) ${references(constraint)} NOT VALID;`];
  return {
    message: `adding foreign key ${name} on ${table} checks every existing row against ${target} before it commits`,
    lock: `SHARE ROW EXCLUSIVE on ${table} and on ${target} for the whole check: writes to both wait`,
    safe: [
      "Add it NOT VALID (new writes are checked at once, old rows are not), then validate it in a",
      "later transaction, which takes only SHARE UPDATE EXCLUSIVE: reads and writes go on.",
      ...add.map((line) => `  ${line}`),
      `  ${NEXT_MIGRATION}`,
      `  ALTER TABLE ${table} VALIDATE CONSTRAINT ${name};`,
    ].join("\n"),
  };
}
