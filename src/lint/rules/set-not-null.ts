import { alterCommands, relationName } from "../ast.js";
import type { Finding, Rule } from "../rule.js";
import { notNullSequence } from "../safe-sql.js";
import { notNullCheck } from "../schema.js";

export const setNotNull: Rule = {
  id: "set-not-null",
  group: "compat",
  severity: "error",
  summary: "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE, unless a valid CHECK proves it (PostgreSQL 12+)",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    const pgVersion = context.options.pgVersion;
    const findings: Finding[] = [];
    for (const command of commands) {
      if (command.subtype !== "AT_SetNotNull") continue;
      const column = command.name ?? "?";
      const check = notNullCheck(context.history, table, column);
      if (check?.validated && pgVersion >= 12) continue;
      const why =
        check === undefined
          ? `no validated CHECK (${column} IS NOT NULL) constraint proves it first`
          : pgVersion < 12
            ? `PostgreSQL ${pgVersion} cannot use the CHECK constraint ${check.name ?? ""} to skip the scan (12+ can)`
            : `the CHECK constraint ${check.name ?? ""} (line ${check.statement.line}${check.statement.file === statement.file ? "" : ` of ${check.statement.file}`}) is NOT VALID yet`;
      findings.push({
        message: `SET NOT NULL on ${table}.${column} reads every row to prove no NULL is left, because ${why}; the running release's writes that leave ${column} NULL fail from then on`,
        lock: `ACCESS EXCLUSIVE on ${table} for the whole scan: reads and writes wait`,
        safe: [
          "Prove it with a CHECK first, validated in a transaction of its own (SHARE UPDATE EXCLUSIVE:",
          "reads and writes go on), then SET NOT NULL, which trusts the CHECK and skips the scan:",
          ...notNullSequence(table, column, pgVersion)
            .split("\n")
            .map((line) => `  ${line}`),
        ].join("\n"),
      });
    }
    return findings;
  },
};
