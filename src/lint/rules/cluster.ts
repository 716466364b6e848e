import { nodeAs, relationName } from "../ast.js";
import type { Rule } from "../rule.js";

export const cluster: Rule = {
  id: "cluster",
  group: "lock",
  severity: "error",
  summary: "CLUSTER rewrites the table in index order while reads and writes wait",
  check(statement, context) {
    const clusterStmt = nodeAs(statement.node, "ClusterStmt");
    if (clusterStmt === undefined) return [];
    const table = clusterStmt.relation === undefined ? undefined : relationName(clusterStmt.relation);
    if (table !== undefined && context.isNewTable(table)) return [];
    const order = clusterStmt.indexname === undefined ? "" : ` --order-by <columns of ${clusterStmt.indexname}>`;
    return [
      {
        message:
          table === undefined
            ? "CLUSTER without a table rewrites every table that was clustered before, one after the other, while reads and writes of each wait for its whole rewrite"
            : `CLUSTER rewrites all of ${table} and its indexes in index order, while reads and writes of ${table} wait`,
        lock: `ACCESS EXCLUSIVE on ${table ?? "each clustered table"} for the whole rewrite`,
        safe: [
          "Leave it out of the migration: the order CLUSTER gives decays as rows change anyway. To reorder a",
          "table while it stays in use, run pg_repack outside the migrations:",
          `  pg_repack --table ${table ?? "<table>"}${order}`,
          "ALTER TABLE ... CLUSTER ON <index> alone only records the index (a brief, light lock) and passes.",
        ].join("\n"),
      },
    ];
  },
};
