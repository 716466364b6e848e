import { alterCommands, relationName } from "../ast.js";
import type { Finding, Rule } from "../rule.js";
import { columnNullability } from "../schema.js";

export const dropNotNull: Rule = {
  id: "drop-not-null",
  group: "compat",
  severity: "warning",
  summary: "DROP NOT NULL lets the new release write NULLs that the running release may not expect",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    const findings: Finding[] = [];
    for (const command of commands) {
      if (command.subtype !== "AT_DropNotNull") continue;
      const column = command.name ?? "?";
      // Already nullable, as far as the linted migrations tell: nothing changes.
      if (columnNullability(context.history, table, column)?.notNull === false) continue;
      findings.push({
        message: `dropping NOT NULL from ${table}.${column}: once rows with ${column} NULL exist, the running release reads them, and code written for a NOT NULL column (a non-optional field, a value it formats or computes with) may fail on them`,
        lock: `ACCESS EXCLUSIVE on ${table}, briefly: no scan, no rewrite`,
        safe: [
          `Make the running code safe first: deploy a release that handles ${column} being NULL when it reads it,`,
          "while it still writes a value; only then drop NOT NULL and ship the code that writes NULLs:",
          `  ALTER TABLE ${table} ALTER COLUMN ${column} DROP NOT NULL;`,
          "If the running release already copes with NULL in it, say so:",
          "  -- baton:allow drop-not-null <why the running release copes with NULL>",
        ].join("\n"),
      });
    }
    return findings;
  },
};
