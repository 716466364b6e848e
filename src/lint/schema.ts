/**
 * What earlier statements of a lint run say about the schema: a column's type, the CHECK
 * constraints that prove a column NOT NULL. Rules read it from Context.history; without a
 * live database this is all the linter knows about tables created by earlier migrations.
 */
import type { ColumnDef, Constraint, Node } from "libpg-query";
import {
  alterCommands,
  columnConstraints,
  defaultConstraintName,
  nodeAs,
  nodesAs,
  relationName,
  type SqlType,
  sqlType,
} from "./ast.js";
import type { Statement } from "./statement.js";

/** The column's type as the latest CREATE TABLE, ADD COLUMN or ALTER COLUMN TYPE in history set it. */
export function columnType(history: readonly Statement[], table: string, column: string): SqlType | undefined {
  let name = { table, column };
  for (let i = history.length - 1; i >= 0; i--) {
    const node = (history[i] as Statement).node;
    const rename = nodeAs(node, "RenameStmt");
    if (rename !== undefined && relationName(rename.relation) === name.table) {
      // Follow renames backwards: before `RENAME a TO b`, column b was called a.
      if (rename.renameType === "OBJECT_COLUMN" && rename.newname === name.column)
        name = { ...name, column: rename.subname ?? "" };
      continue;
    }
    if (rename?.renameType === "OBJECT_TABLE" && rename.newname === name.table.split(".").pop()) {
      name = { ...name, table: relationName(rename.relation) };
      continue;
    }
    const found = definedType(node, name.table, name.column);
    if (found !== undefined) return found;
  }
  return undefined;
}

function definedType(node: Node, table: string, column: string): SqlType | undefined {
  const create = nodeAs(node, "CreateStmt");
  if (create !== undefined && relationName(create.relation) === table) {
    const def = nodesAs(create.tableElts, "ColumnDef").find((c) => c.colname === column);
    return def === undefined ? undefined : sqlType(def.typeName);
  }
  const { relation, commands } = alterCommands(node);
  if (relationName(relation) !== table) return undefined;
  for (const command of [...commands].reverse()) {
    const def = nodeAs(command.def, "ColumnDef");
    if (command.subtype === "AT_AlterColumnType" && command.name === column) return sqlType(def?.typeName);
    if (command.subtype === "AT_AddColumn" && def?.colname === column) return sqlType(def.typeName);
  }
  return undefined;
}

/** A CHECK constraint that proves `column IS NOT NULL`, and whether it has been validated. */
export interface NotNullCheck {
  name: string | undefined;
  validated: boolean;
  statement: Statement;
}

export function notNullCheck(history: readonly Statement[], table: string, column: string): NotNullCheck | undefined {
  let found: NotNullCheck | undefined;
  for (const statement of history) {
    const create = nodeAs(statement.node, "CreateStmt");
    if (create !== undefined && relationName(create.relation) === table) {
      const checks = [
        ...nodesAs(create.tableElts, "Constraint"),
        ...nodesAs(create.tableElts, "ColumnDef").flatMap((c: ColumnDef) => columnConstraints(c)),
      ];
      const check = checks.find((c) => provesNotNull(c, column));
      if (check !== undefined) found = { name: check.conname, validated: true, statement };
      continue;
    }
    const { relation, commands } = alterCommands(statement.node);
    if (relationName(relation) !== table) continue;
    for (const command of commands) {
      const constraint = nodeAs(command.def, "Constraint");
      if (command.subtype === "AT_AddConstraint" && constraint !== undefined && provesNotNull(constraint, column))
        found = {
          name: constraint.conname ?? defaultConstraintName(table, [column], "check"),
          validated: !constraint.skip_validation,
          statement,
        };
      else if (command.subtype === "AT_ValidateConstraint" && found !== undefined && command.name === found.name)
        found = { ...found, validated: true, statement };
      else if (command.subtype === "AT_DropConstraint" && found !== undefined && command.name === found.name)
        found = undefined;
    }
  }
  return found;
}

/** CHECK (col IS NOT NULL), alone or AND-ed with other conditions. */
function provesNotNull(constraint: Constraint, column: string): boolean {
  return constraint.contype === "CONSTR_CHECK" && impliesNotNull(constraint.raw_expr, column);
}

function impliesNotNull(expression: Node | undefined, column: string): boolean {
  const test = nodeAs(expression, "NullTest");
  if (test !== undefined) {
    const fields = nodesAs(nodeAs(test.arg, "ColumnRef")?.fields, "String");
    return test.nulltesttype === "IS_NOT_NULL" && fields[fields.length - 1]?.sval === column;
  }
  const bool = nodeAs(expression, "BoolExpr");
  return bool?.boolop === "AND_EXPR" && (bool.args ?? []).some((arg) => impliesNotNull(arg, column));
}
