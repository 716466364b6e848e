import { alterCommands, relationName } from "../ast.js";
import type { Rule } from "../rule.js";
import { contractLater } from "../safe-sql.js";

export const dropColumn: Rule = {
  id: "drop-column",
  group: "compat",
  severity: "error",
  summary: "DROP COLUMN breaks the running release while it still reads or writes the column",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    return commands
      .filter((command) => command.subtype === "AT_DropColumn")
      .map((command) => ({
        message: `dropping column ${command.name} of ${table} breaks the running release if it still selects, inserts or updates it (ORMs list every column they know)`,
        lock: `ACCESS EXCLUSIVE on ${table}, briefly: the column is only marked dropped, no rewrite`,
        safe: contractLater(`column ${command.name}`, `ALTER TABLE ${table} DROP COLUMN ${command.name};`),
      }));
  },
};
