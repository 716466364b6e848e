import type { ColumnDef, Node } from "libpg-query";
import { alterCommands, columnConstraints, formatType, nodeAs, nodesAs, relationName, sqlType } from "../ast.js";
import { expressionText } from "../expression.js";
import type { Finding, Rule } from "../rule.js";
import type { Statement } from "../statement.js";

export const addGeneratedStoredColumn: Rule = {
  id: "add-generated-stored-column",
  group: "lock",
  severity: "error",
  summary: "ADD COLUMN ... GENERATED ALWAYS AS (...) STORED (or SET EXPRESSION) computes every row: a table rewrite",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    const findings: Finding[] = [];
    for (const command of commands) {
      const column = nodeAs(command.def, "ColumnDef");
      if (command.subtype === "AT_AddColumn" && column !== undefined) {
        const generated = columnConstraints(column).find((c) => c.contype === "CONSTR_GENERATED");
        if (generated?.generated_kind !== "s") continue;
        const name = column.colname ?? "?";
        findings.push({
          message: `adding stored generated column ${name} to ${table} computes it for every existing row, rewriting all of ${table} and its indexes`,
          lock: `ACCESS EXCLUSIVE on ${table} for the whole rewrite: reads and writes wait`,
          safe: safeSequence(table, name, typeText(column), generated.raw_expr, context.options.pgVersion),
        });
      } else if (command.subtype === "AT_SetExpression") {
        const name = command.name ?? "?";
        if (generatedKind(context.history, table, name) === "v") continue;
        findings.push({
          message: `SET EXPRESSION on ${table}.${name} computes the stored column again for every row, rewriting all of ${table} and its indexes`,
          lock: `ACCESS EXCLUSIVE on ${table} for the whole rewrite: reads and writes wait`,
          safe: [
            `Expand/contract: a new column ${name}_new with the new expression, then the release that reads it,`,
            `then drop ${name} in postdeploy.`,
            safeSequence(table, `${name}_new`, "<type>", command.def, context.options.pgVersion),
          ].join("\n"),
        });
      }
    }
    return findings;
  },
};

function typeText(column: ColumnDef): string {
  const type = sqlType(column.typeName);
  return type === undefined ? "<type>" : formatType(type);
}

function safeSequence(table: string, column: string, type: string, expression: Node | undefined, pgVersion: number) {
  const expr = expressionText(expression) ?? "<expression>";
  const forRow = expressionText(expression, "NEW.") ?? "<expression on NEW>";
  const fill = `${table.split(".").pop()}_${column}_fill`;
  return [
    ...(pgVersion >= 18
      ? [
          "PostgreSQL 18+: a VIRTUAL generated column is computed when read, so adding it rewrites nothing:",
          `  ALTER TABLE ${table} ADD COLUMN ${column} ${type} GENERATED ALWAYS AS (${expr}) VIRTUAL;`,
          "Or, to keep it stored (indexable), a plain column that a trigger fills, backfilled in batches:",
        ]
      : ["A plain column that a trigger fills for new and updated rows, backfilled in batches:"]),
    `  ALTER TABLE ${table} ADD COLUMN ${column} ${type};`,
    `  CREATE FUNCTION ${fill}() RETURNS trigger LANGUAGE plpgsql AS $$`,
    `    BEGIN NEW.${column} := ${forRow}; RETURN NEW; END $$;`,
    `  CREATE TRIGGER ${fill} BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${fill}();`,
    `  -- in batches, from a later migration or a script: UPDATE ${table} SET ${column} = ${expr}`,
    `  --   WHERE ctid IN (SELECT ctid FROM ${table} WHERE ${column} IS NULL LIMIT 10000);`,
  ].join("\n");
}

/** "s" (stored) or "v" (virtual) for a generated column the history defined; undefined otherwise. */
function generatedKind(history: readonly Statement[], table: string, column: string): string | undefined {
  let kind: string | undefined;
  for (const statement of history) {
    const create = nodeAs(statement.node, "CreateStmt");
    const defs =
      create !== undefined && relationName(create.relation) === table
        ? nodesAs(create.tableElts, "ColumnDef")
        : relationName(alterCommands(statement.node).relation) === table
          ? alterCommands(statement.node).commands.flatMap((c) =>
              c.subtype === "AT_AddColumn" ? nodesAs(c.def === undefined ? [] : [c.def], "ColumnDef") : [],
            )
          : [];
    for (const def of defs.filter((d) => d.colname === column))
      kind = columnConstraints(def).find((c) => c.contype === "CONSTR_GENERATED")?.generated_kind;
  }
  return kind;
}
