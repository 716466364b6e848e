import type { ColumnDef } from "libpg-query";
import { alterCommands, formatType, nodeAs, nodesAs, relationName, sqlType } from "../ast.js";
import type { Finding, Rule } from "../rule.js";

const NO_OPERATOR = "operator does not exist: json = ...";
const FAILS = "could not identify an equality operator for type json";

export const addJsonColumn: Rule = {
  id: "add-json-column",
  group: "compat",
  severity: "warning",
  summary: "a json (not jsonb) column: SELECT DISTINCT, UNION, GROUP BY and = over it fail",
  check(statement, context) {
    const create = nodeAs(statement.node, "CreateStmt");
    if (create !== undefined) {
      const table = relationName(create.relation);
      return nodesAs(create.tableElts, "ColumnDef")
        .filter(isJson)
        .map((column) => newTableFinding(table, column.colname ?? "?", column, "create"));
    }
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    const existing = !context.isNewTable(table);
    const findings: Finding[] = [];
    for (const command of commands) {
      const def = nodeAs(command.def, "ColumnDef");
      if (def === undefined || !isJson(def)) continue;
      let column: string;
      if (command.subtype === "AT_AddColumn") column = def.colname ?? "?";
      else if (command.subtype === "AT_AlterColumnType") column = command.name ?? "?";
      else continue;
      const retyped = command.subtype === "AT_AlterColumnType";
      if (!existing) {
        findings.push(newTableFinding(table, column, def, retyped ? "retype" : "add"));
        continue;
      }
      const rows = `SELECT DISTINCT * and UNION (not UNION ALL) over the rows of ${table}`;
      findings.push({
        message: retyped
          ? `column ${column} of ${table} changes to type json, which has no equality operator: the running release's queries that compare ${column} with = start failing with "${NO_OPERATOR}", and those that GROUP BY or DISTINCT on it, and its ${rows}, with "${FAILS}"`
          : `column ${column} of ${table} gets type json, which has no equality operator: the running release's ${rows} start failing with "${FAILS}"`,
        lock: `ACCESS EXCLUSIVE on ${table}${retyped ? " while the type change rewrites it" : ", briefly"}`,
        safe: useJsonb(table, column, def, retyped ? "retype" : "add"),
      });
    }
    return findings;
  },
};

function isJson(column: ColumnDef): boolean {
  return sqlType(column.typeName)?.name === "json";
}

/** Where the json column comes from: CREATE TABLE, ADD COLUMN or ALTER COLUMN TYPE. */
type Origin = "create" | "add" | "retype";

function newTableFinding(table: string, column: string, def: ColumnDef, origin: Origin): Finding {
  return {
    message: `column ${column} of ${table} has type json, which has no equality operator: = on it fails ("${NO_OPERATOR}"), and so do GROUP BY, DISTINCT and UNION over it ("${FAILS}"); switching to jsonb once the table is in use rewrites it`,
    safe: useJsonb(table, column, def, origin),
  };
}

function useJsonb(table: string, column: string, def: ColumnDef, origin: Origin): string {
  const type = sqlType(def.typeName);
  const jsonb = type === undefined ? "jsonb" : formatType({ ...type, name: "jsonb" });
  const sql = {
    create: `CREATE TABLE ${table} (..., ${column} ${jsonb}, ...);`,
    add: `ALTER TABLE ${table} ADD COLUMN ${column} ${jsonb};`,
    retype: `ALTER TABLE ${table} ALTER COLUMN ${column} TYPE ${jsonb} USING ${column}::${jsonb};`,
  }[origin];
  return [
    "Use jsonb: it has equality, indexes (GIN) and containment operators, and reads faster:",
    `  ${sql}`,
    "Keep json only when the exact text must survive (key order, duplicate keys, whitespace), and say so:",
    "  -- baton:allow add-json-column <why the exact text matters>",
  ].join("\n");
}
