import { names, nodeAs, nodesAs, qualifiedName } from "../ast.js";
import type { Rule } from "../rule.js";
import { contractLater } from "../safe-sql.js";

export const dropTable: Rule = {
  id: "drop-table",
  group: "compat",
  severity: "error",
  summary: "DROP TABLE breaks the running release while it still uses the table",
  check(statement, context) {
    const drop = nodeAs(statement.node, "DropStmt");
    if (drop?.removeType !== "OBJECT_TABLE") return [];
    return nodesAs(drop.objects, "List")
      .map((object) => qualifiedName(names(object.items)))
      .filter((table) => !context.isNewTable(table))
      .map((table) => ({
        message: `dropping table ${table} breaks the running release if it still reads or writes it, and its data is gone for good`,
        lock: `ACCESS EXCLUSIVE on ${table}, briefly`,
        safe: contractLater(`table ${table}`, `DROP TABLE ${table};`),
      }));
  },
};
