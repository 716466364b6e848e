import type { ColumnDef } from "libpg-query";
import { alterCommands, columnConstraints, formatType, nodeAs, relationName, sqlType } from "../ast.js";
import { calledFunctions, expressionText } from "../expression.js";
import type { Finding, Rule } from "../rule.js";

/** Built-in (and uuid-ossp, pgcrypto) functions that give another value on each call. */
const VOLATILE = new Set([
  "random",
  "random_normal",
  "clock_timestamp",
  "timeofday",
  "gen_random_uuid",
  "uuidv4",
  "uuidv7",
  "uuid_generate_v1",
  "uuid_generate_v1mc",
  "uuid_generate_v4",
  "gen_random_bytes",
  "nextval",
  "currval",
  "lastval",
  "setval",
  "setseed",
]);

/** Functions often seen in defaults that are STABLE or IMMUTABLE: evaluated once for the ADD. */
const NOT_VOLATILE = new Set([
  "now",
  "transaction_timestamp",
  "statement_timestamp",
  "timezone",
  "date_trunc",
  "date_part",
  "to_timestamp",
  "to_date",
  "to_char",
  "make_date",
  "make_time",
  "make_timestamp",
  "make_timestamptz",
  "make_interval",
  "current_setting",
  "lower",
  "upper",
  "concat",
  "concat_ws",
  "btrim",
  "replace",
  "substring",
  "length",
  "md5",
  "json_build_object",
  "jsonb_build_object",
  "json_build_array",
  "jsonb_build_array",
  "to_json",
  "to_jsonb",
  "array_fill",
  "int4range",
  "int8range",
  "numrange",
  "daterange",
  "tsrange",
  "tstzrange",
]);

export const volatileDefault: Rule = {
  id: "volatile-default",
  group: "lock",
  severity: "error",
  summary:
    "ADD COLUMN with a volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval...) rewrites the table",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    const findings: Finding[] = [];
    for (const command of commands) {
      const column = nodeAs(command.def, "ColumnDef");
      if (command.subtype !== "AT_AddColumn" || column === undefined) continue;
      const expression = columnConstraints(column).find((c) => c.contype === "CONSTR_DEFAULT")?.raw_expr;
      if (expression === undefined || nodeAs(expression, "A_Const")?.isnull) continue;
      const functions = calledFunctions(expression);
      const volatile = functions.filter((f) => VOLATILE.has(f));
      const unknown = functions.filter((f) => !VOLATILE.has(f) && !NOT_VOLATILE.has(f));
      const name = column.colname ?? "?";
      const text = expressionText(expression) ?? "<default>";
      const base = { table, column: name, type: typeText(column), text };
      if (volatile.length > 0)
        findings.push({
          message: `adding column ${name} to ${table} with the volatile default ${text} computes it for every existing row, rewriting all of ${table} and its indexes`,
          lock: `ACCESS EXCLUSIVE on ${table} for the whole rewrite: reads and writes wait`,
          safe: safeSequence(base),
        });
      else if (unknown.length > 0)
        findings.push({
          severity: "warning",
          message: `adding column ${name} to ${table} with the default ${text}: if ${unknown.join(", ")} is VOLATILE, PostgreSQL computes it for every existing row and rewrites ${table}; if it is STABLE or IMMUTABLE the ADD is instant (PostgreSQL 11+)`,
          lock: `ACCESS EXCLUSIVE on ${table}, for the whole rewrite if the default is volatile`,
          safe: safeSequence(base),
        });
      else if (context.options.pgVersion < 11 && !isNotNull(column))
        // A NOT NULL column with a default before 11 is add-column-not-null-no-default's finding.
        findings.push({
          message: `before PostgreSQL 11, adding column ${name} to ${table} with a default (${text}) writes it into every row, rewriting ${table}`,
          lock: `ACCESS EXCLUSIVE on ${table} for the whole rewrite: reads and writes wait`,
          safe: safeSequence(base),
        });
    }
    return findings;
  },
};

function typeText(column: ColumnDef): string {
  const type = sqlType(column.typeName);
  return type === undefined ? "<type>" : formatType(type);
}

function isNotNull(column: ColumnDef): boolean {
  return (
    column.is_not_null === true ||
    columnConstraints(column).some((c) => c.contype === "CONSTR_NOTNULL" || c.contype === "CONSTR_PRIMARY")
  );
}

function safeSequence({ table, column, type, text }: { table: string; column: string; type: string; text: string }) {
  return [
    "Add the column without the default, then set the default for new rows: both are instant. Fill the",
    "existing rows in batches, each in its own transaction, so the running release keeps working:",
    `  ALTER TABLE ${table} ADD COLUMN ${column} ${type};`,
    `  ALTER TABLE ${table} ALTER COLUMN ${column} SET DEFAULT ${text};`,
    `  -- in batches, from a later migration or a script: UPDATE ${table} SET ${column} = ${text}`,
    `  --   WHERE ctid IN (SELECT ctid FROM ${table} WHERE ${column} IS NULL LIMIT 10000);`,
    "Then, if it must be NOT NULL, add that without a long lock (see set-not-null).",
  ].join("\n");
}
