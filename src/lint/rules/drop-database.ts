import { nodeAs } from "../ast.js";
import type { Rule } from "../rule.js";

export const dropDatabase: Rule = {
  id: "drop-database",
  group: "compat",
  severity: "error",
  summary: "DROP DATABASE in a migration destroys every table of the running release",
  check(statement) {
    const drop = nodeAs(statement.node, "DropdbStmt");
    if (drop === undefined) return [];
    return [
      {
        message: `DROP DATABASE ${drop.dbname ?? ""} destroys every table and row in it; a migration never needs to`,
        lock: "the whole database: fails while anyone is connected, unless WITH (FORCE) disconnects them",
        safe: "Drop databases by hand, after a backup, never from a release's migrations.",
      },
    ];
  },
};
