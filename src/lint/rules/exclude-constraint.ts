import { alterCommands, defaultConstraintName, nodeAs, nodesAs, relationName } from "../ast.js";
import type { Finding, Rule } from "../rule.js";

export const excludeConstraint: Rule = {
  id: "exclude-constraint",
  group: "lock",
  severity: "error",
  summary: "ADD EXCLUDE builds its index and checks every row under ACCESS EXCLUSIVE; there is no concurrent form",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    const findings: Finding[] = [];
    for (const command of commands) {
      const constraint = nodeAs(command.def, "Constraint");
      if (command.subtype !== "AT_AddConstraint" || constraint?.contype !== "CONSTR_EXCLUSION") continue;
      // Unnamed, it is called after its columns (an expression counts as "expr"): <table>_<col>_excl.
      const columns = nodesAs(constraint.exclusions, "List").map(
        (pair) => nodeAs(pair.items?.[0], "IndexElem")?.name ?? "expr",
      );
      const name = constraint.conname ?? defaultConstraintName(table, columns, "excl");
      findings.push({
        message: `adding EXCLUDE constraint ${name} to ${table} builds its index and compares every row with the others, all while reads and writes of ${table} wait; PostgreSQL has no CONCURRENTLY or NOT VALID for it`,
        lock: `ACCESS EXCLUSIVE on ${table} for the whole index build and check`,
        safe: [
          "There is no online way to add an exclusion constraint to a table with rows. Choose one:",
          "- if every operator is =, it is a uniqueness rule: CREATE UNIQUE INDEX CONCURRENTLY, then",
          `  ALTER TABLE ${table} ADD CONSTRAINT <name> UNIQUE USING INDEX <index> (see add-unique-without-index);`,
          "- expand/contract to a new table created with the constraint: the code writes both, a backfill",
          "  copies the rows in batches, a later release reads the new table and the old one is dropped;",
          "- if the table is small, accept a short lock: SET lock_timeout = '2s' first and suppress this",
          "  finding with a reason (-- baton:allow exclude-constraint <reason>).",
        ].join("\n"),
      });
    }
    return findings;
  },
};
