import { alterCommands, defaultConstraintName, names, nodeAs, referencedColumns, relationName } from "../ast.js";
import type { Finding, Rule } from "../rule.js";
import type { Statement } from "../statement.js";

export const validateInSameTransaction: Rule = {
  id: "validate-in-same-transaction",
  group: "lock",
  severity: "error",
  summary: "VALIDATE CONSTRAINT in the transaction that added it NOT VALID keeps the ADD's lock for the whole scan",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    const transaction = context.transaction;
    if (transaction === undefined || context.isNewTable(table)) return [];
    const findings: Finding[] = [];
    for (const command of commands) {
      if (command.subtype !== "AT_ValidateConstraint") continue;
      const added = transaction.statements.find((s) => addsNotValid(s, table, command.name ?? ""));
      if (added === undefined) continue;
      findings.push({
        message: `VALIDATE CONSTRAINT ${command.name} runs in the same transaction as the ADD ... NOT VALID at line ${added.line}, so the lock that ADD took is still held while every row is checked`,
        lock: `the ADD's lock on ${table} (ACCESS EXCLUSIVE for a CHECK, SHARE ROW EXCLUSIVE for a FOREIGN KEY), held until COMMIT`,
        safe: [
          "Commit between the two: put the VALIDATE in the next migration (each file runs in its own",
          "transaction). Alone, VALIDATE takes only SHARE UPDATE EXCLUSIVE: reads and writes go on.",
          `  ALTER TABLE ${table} VALIDATE CONSTRAINT ${command.name};`,
        ].join("\n"),
      });
    }
    return findings;
  },
};

/** Whether the statement adds the named constraint NOT VALID to the table. */
function addsNotValid(statement: Statement, table: string, name: string): boolean {
  const { relation, commands } = alterCommands(statement.node);
  if (relationName(relation) !== table) return false;
  return commands.some((command) => {
    const constraint = nodeAs(command.def, "Constraint");
    if (command.subtype !== "AT_AddConstraint" || !constraint?.skip_validation) return false;
    const implicit =
      constraint.contype === "CONSTR_FOREIGN"
        ? defaultConstraintName(table, names(constraint.fk_attrs), "fkey")
        : defaultConstraintName(table, referencedColumns(constraint.raw_expr).slice(0, 1), "check");
    return (constraint.conname ?? implicit) === name;
  });
}
