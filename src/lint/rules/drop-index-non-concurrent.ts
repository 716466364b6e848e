import { names, nodeAs, nodesAs, qualifiedName } from "../ast.js";
import { indexTable } from "../relations.js";
import type { Finding, Rule } from "../rule.js";

export const dropIndexNonConcurrent: Rule = {
  id: "drop-index-non-concurrent",
  group: "lock",
  severity: "error",
  summary: "DROP INDEX without CONCURRENTLY locks the table against reads and writes until the transaction ends",
  check(statement, context) {
    const drop = nodeAs(statement.node, "DropStmt");
    if (drop?.removeType !== "OBJECT_INDEX" || drop.concurrent) return [];
    const findings: Finding[] = [];
    for (const object of nodesAs(drop.objects, "List")) {
      const index = qualifiedName(names(object.items));
      const table = indexTable(context.history, index);
      if (table !== undefined && context.isNewTable(table)) continue;
      const on = table ?? "its table";
      findings.push({
        message: `DROP INDEX ${index} locks ${on} exclusively: every read and write of ${on} waits while it queues behind running queries and until the transaction commits`,
        lock: `ACCESS EXCLUSIVE on ${index} and on ${on} until the transaction ends`,
        safe: [
          "Drop it concurrently, one index per statement, in a migration that runs outside a transaction",
          "(mark the file `-- baton:no-transaction` and tell your migration tool so):",
          `  DROP INDEX CONCURRENTLY${drop.missing_ok ? " IF EXISTS" : ""} ${index};`,
          "CONCURRENTLY waits for the queries using the index instead of blocking them. It takes no CASCADE;",
          "an index behind a UNIQUE or PRIMARY KEY constraint goes with ALTER TABLE ... DROP CONSTRAINT instead.",
        ].join("\n"),
      });
    }
    return findings;
  },
};
