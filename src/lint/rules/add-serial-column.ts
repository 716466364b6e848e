import { alterCommands, columnConstraints, formatType, nodeAs, relationName, sqlType } from "../ast.js";
import type { Finding, Rule } from "../rule.js";

/** The serial pseudo-types and the integer type each stands for. */
const SERIAL: Record<string, string> = {
  smallserial: "smallint",
  serial2: "smallint",
  serial: "integer",
  serial4: "integer",
  bigserial: "bigint",
  serial8: "bigint",
};

export const addSerialColumn: Rule = {
  id: "add-serial-column",
  group: "lock",
  severity: "error",
  summary: "ADD COLUMN serial/bigserial or GENERATED AS IDENTITY numbers every existing row: a table rewrite",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    const findings: Finding[] = [];
    for (const command of commands) {
      const column = nodeAs(command.def, "ColumnDef");
      if (command.subtype !== "AT_AddColumn" || column === undefined) continue;
      const type = sqlType(column.typeName);
      const typeName = type?.name ?? "";
      const serialOf = SERIAL[typeName];
      const identity = columnConstraints(column).some((c) => c.contype === "CONSTR_IDENTITY");
      if (serialOf === undefined && !identity) continue;
      const name = column.colname ?? "?";
      const what = serialOf === undefined ? "an identity column" : `a ${typeName} column`;
      const integer = serialOf ?? (type === undefined ? "bigint" : formatType(type));
      const sequence = `${table.split(".").pop()}_${name}_seq`;
      findings.push({
        message: `adding ${what} ${name} to ${table} takes a value from the sequence for every existing row, rewriting all of ${table} and its indexes`,
        lock: `ACCESS EXCLUSIVE on ${table} for the whole rewrite: reads and writes wait`,
        safe: [
          "Add a plain column, give new rows their numbers from a sequence, and number the existing rows in",
          "batches, each in its own transaction:",
          `  ALTER TABLE ${table} ADD COLUMN ${name} ${integer};`,
          `  CREATE SEQUENCE ${sequence} AS ${integer} OWNED BY ${table}.${name};`,
          `  ALTER TABLE ${table} ALTER COLUMN ${name} SET DEFAULT nextval('${sequence}');`,
          `  -- in batches, from a later migration or a script: UPDATE ${table} SET ${name} = nextval('${sequence}')`,
          `  --   WHERE ctid IN (SELECT ctid FROM ${table} WHERE ${name} IS NULL LIMIT 10000);`,
          "Then NOT NULL without a long lock (see set-not-null), and, for a key, CREATE UNIQUE INDEX CONCURRENTLY",
          "and ADD ... USING INDEX (see add-unique-without-index).",
        ].join("\n"),
      });
    }
    return findings;
  },
};
