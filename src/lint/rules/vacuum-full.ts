import { nodeAs, nodesAs, optionEnabled, relationName } from "../ast.js";
import type { Rule } from "../rule.js";

export const vacuumFull: Rule = {
  id: "vacuum-full",
  group: "lock",
  severity: "error",
  summary: "VACUUM FULL rewrites the table into a new file while reads and writes wait",
  check(statement, context) {
    const vacuum = nodeAs(statement.node, "VacuumStmt");
    if (vacuum === undefined || !vacuum.is_vacuumcmd || !optionEnabled(vacuum.options, "full")) return [];
    const tables = nodesAs(vacuum.rels, "VacuumRelation").map((r) => relationName(r.relation));
    const targets = tables.filter((t) => !context.isNewTable(t));
    if (tables.length > 0 && targets.length === 0) return [];
    const what = targets.length === 0 ? "every table of the database, one after the other," : targets.join(", ");
    return [
      {
        message: `VACUUM FULL rewrites ${what} into new files to give the space back to the operating system, while reads and writes of ${targets.length === 0 ? "each table" : targets.join(", ")} wait for its whole rewrite`,
        lock: `ACCESS EXCLUSIVE on ${targets.length === 0 ? "each table" : targets.join(", ")} for its whole rewrite`,
        safe: [
          "Leave it out of the migration. A plain VACUUM (or autovacuum) makes dead space reusable without",
          "blocking reads or writes:",
          `  VACUUM (ANALYZE) ${targets.join(", ")};`.replace(" ;", ";"),
          "To give the space back to the operating system while the table stays in use, run pg_repack (or",
          "pg_squeeze) outside the migrations. VACUUM cannot run inside a transaction block either.",
        ].join("\n"),
      },
    ];
  },
};
