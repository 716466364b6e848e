import { alterCommands, formatType, nodeAs, relationName, type SqlType, sqlType } from "../ast.js";
import type { Finding, Rule } from "../rule.js";
import { columnType } from "../schema.js";

/** Target types a widening can end in: with the old type unknown, the change may be safe. */
const WIDENING_TARGETS = new Set(["varchar", "text", "numeric", "inet", "varbit"]);

export const changeColumnType: Rule = {
  id: "change-column-type",
  group: "lock",
  severity: "error",
  summary: "ALTER COLUMN TYPE rewrites the table and its indexes under ACCESS EXCLUSIVE, except known widenings",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    const findings: Finding[] = [];
    for (const command of commands) {
      const def = nodeAs(command.def, "ColumnDef");
      if (command.subtype !== "AT_AlterColumnType" || def === undefined) continue;
      const column = command.name ?? "?";
      const to = sqlType(def.typeName);
      if (to === undefined) continue;
      // USING computes every value again, and a new collation means rebuilding the indexes.
      const plain = def.raw_default === undefined && def.collClause === undefined;
      const from = columnType(context.history, table, column);
      if (plain && from !== undefined && isSafeWidening(from, to)) continue;
      const unknownButMaybeSafe = plain && from === undefined && WIDENING_TARGETS.has(to.name) && !to.array;
      const change = from === undefined ? `to ${formatType(to)}` : `from ${formatType(from)} to ${formatType(to)}`;
      findings.push({
        message: unknownButMaybeSafe
          ? `changing the type of ${table}.${column} ${change} is safe only if it widens (varchar(n) to a larger varchar or text, numeric(p,s) to a larger p, cidr to inet); the earlier migrations linted here do not show its current type, otherwise it rewrites ${table}`
          : `changing the type of ${table}.${column} ${change} rewrites ${table} and rebuilds its indexes; the running release may also read or write values the new type does not accept`,
        lock: `ACCESS EXCLUSIVE on ${table} for the whole rewrite: reads and writes wait`,
        safe: [
          "Widenings need no rewrite: varchar(n) to varchar(m >= n) or text, numeric(p,s) to numeric(q >= p,s), cidr to inet.",
          "Anything else: expand/contract with a new column:",
          `  ALTER TABLE ${table} ADD COLUMN ${column}_new ${formatType(to)};`,
          `  -- the code (or a trigger) writes both; backfill in batches: UPDATE ${table} SET ${column}_new = ${column}::${formatType(to)} WHERE ...;`,
          `  -- deploy the release that uses ${column}_new; then, in postdeploy: ALTER TABLE ${table} DROP COLUMN ${column};`,
        ].join("\n"),
        ...(unknownButMaybeSafe ? { severity: "warning" as const } : {}),
      });
    }
    return findings;
  },
};

/** Type changes PostgreSQL makes without rewriting the table or rebuilding its indexes. */
export function isSafeWidening(from: SqlType, to: SqlType): boolean {
  if (from.array !== to.array) return false;
  if (from.name === to.name) {
    if (sameMods(from, to)) return true;
    if (from.name === "varchar" || from.name === "varbit") return lengthGrows(from.mods[0], to.mods[0]);
    if (from.name === "numeric") {
      if (to.mods.length === 0) return true;
      return (from.mods[1] ?? 0) === (to.mods[1] ?? 0) && lengthGrows(from.mods[0], to.mods[0]);
    }
    return false;
  }
  if (from.name === "varchar" && to.name === "text") return true;
  if (from.name === "text" && to.name === "varchar" && to.mods.length === 0) return true;
  return from.name === "cidr" && to.name === "inet";
}

function sameMods(a: SqlType, b: SqlType): boolean {
  return a.mods.length === b.mods.length && a.mods.every((m, i) => m === b.mods[i]);
}

/** undefined is "no limit". */
function lengthGrows(from: number | undefined, to: number | undefined): boolean {
  if (to === undefined) return true;
  return from !== undefined && to >= from;
}
