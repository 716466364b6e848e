import { nodeAs, nodesAs, relationName } from "../ast.js";
import type { Rule } from "../rule.js";

export const truncate: Rule = {
  id: "truncate",
  group: "compat",
  severity: "error",
  summary: "TRUNCATE empties a table the running release still reads and writes",
  check(statement, context) {
    const relations = nodesAs(nodeAs(statement.node, "TruncateStmt")?.relations, "RangeVar");
    return relations
      .map((relation) => relationName(relation))
      .filter((table) => !context.isNewTable(table))
      .map((table) => ({
        message: `TRUNCATE ${table} deletes every row while the running release still uses them`,
        lock: `ACCESS EXCLUSIVE on ${table}: reads and writes wait until the transaction ends`,
        safe: [
          "Delete what must go in small batches, each its own transaction, so the running release",
          "keeps working and no long lock is held:",
          `  DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE <condition> LIMIT 10000);`,
          "If the table is no longer used at all, stop using it first and drop it in postdeploy.",
        ].join("\n"),
      }));
  },
};
