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
  names,
  nodeAs,
  nodesAs,
  qualifiedName,
  referencedColumns,
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
      if (check !== undefined) found = { name: checkName(table, check), validated: true, statement };
      continue;
    }
    const { relation, commands } = alterCommands(statement.node);
    if (relationName(relation) !== table) continue;
    for (const command of commands) {
      const constraint = nodeAs(command.def, "Constraint");
      if (command.subtype === "AT_AddConstraint" && constraint !== undefined && provesNotNull(constraint, column))
        found = {
          name: checkName(table, constraint),
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

/**
 * A CHECK constraint's name: PostgreSQL names an unnamed one table_column_check when its condition
 * reads exactly one column, table_check otherwise (CHECK (email IS NOT NULL AND name <> '')).
 */
function checkName(table: string, constraint: Constraint): string {
  if (constraint.conname !== undefined) return constraint.conname;
  const columns = referencedColumns(constraint.raw_expr);
  return defaultConstraintName(table, columns.length === 1 ? columns : [], "check");
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

/** Whether a column is NOT NULL, and the statement that made it so (or nullable). */
export interface Nullability {
  notNull: boolean;
  statement: Statement;
}

// serial columns are NOT NULL with a sequence default; identity columns are NOT NULL too.
const SERIAL_TYPES = new Set(["serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"]);

/**
 * Whether the column is NOT NULL, as the latest statement in history that decides it says
 * (CREATE TABLE, ADD COLUMN, SET/DROP NOT NULL, ADD PRIMARY KEY), following renames backwards;
 * undefined when no statement says, or the table or column was renamed away or dropped since.
 * A CHECK (column IS NOT NULL) is not counted here: see notNullCheck.
 */
export function columnNullability(
  history: readonly Statement[],
  table: string,
  column: string,
): Nullability | undefined {
  let name = { table, column };
  for (let i = history.length - 1; i >= 0; i--) {
    const statement = history[i] as Statement;
    const rename = nodeAs(statement.node, "RenameStmt");
    if (rename?.renameType === "OBJECT_COLUMN" && relationName(rename.relation) === name.table) {
      // Before `RENAME a TO b`, column b was called a; and the column a seen later is another one.
      if (rename.newname === name.column) name = { ...name, column: rename.subname ?? "" };
      else if (rename.subname === name.column) return undefined;
      continue;
    }
    if (rename?.renameType === "OBJECT_TABLE" && rename.relation !== undefined) {
      const schema = rename.relation.schemaname;
      const to = qualifiedName(schema === undefined ? [rename.newname ?? ""] : [schema, rename.newname ?? ""]);
      if (to === name.table) name = { ...name, table: relationName(rename.relation) };
      else if (relationName(rename.relation) === name.table) return undefined;
      continue;
    }
    const found = definedNullability(statement.node, name.table, name.column);
    if (found === "unknown") return undefined;
    if (found !== undefined) return { notNull: found, statement };
  }
  return undefined;
}

function definedNullability(node: Node, table: string, column: string): boolean | "unknown" | undefined {
  const create = nodeAs(node, "CreateStmt");
  if (create !== undefined && relationName(create.relation) === table) {
    const def = nodesAs(create.tableElts, "ColumnDef").find((c) => c.colname === column);
    const primaryKey = nodesAs(create.tableElts, "Constraint").some(
      (c) => c.contype === "CONSTR_PRIMARY" && names(c.keys).includes(column),
    );
    // Not defined here: inherited (INHERITS, LIKE, PARTITION OF), or not there at all.
    if (def === undefined) return primaryKey ? true : "unknown";
    return primaryKey || columnDefNotNull(def);
  }
  const drop = nodeAs(node, "DropStmt");
  if (drop?.removeType === "OBJECT_TABLE") {
    const dropped = nodesAs(drop.objects, "List").some((o) => qualifiedName(names(o.items)) === table);
    return dropped ? "unknown" : undefined;
  }
  const { relation, commands } = alterCommands(node);
  if (relationName(relation) !== table) return undefined;
  for (const command of [...commands].reverse()) {
    const def = nodeAs(command.def, "ColumnDef");
    const constraint = nodeAs(command.def, "Constraint");
    if (command.subtype === "AT_AddColumn" && def?.colname === column) return columnDefNotNull(def);
    if (command.name !== column) {
      // PRIMARY KEY (col), and PostgreSQL 18's ADD CONSTRAINT name NOT NULL col (new rows are
      // checked even while it is NOT VALID).
      const keys = constraint?.contype === "CONSTR_PRIMARY" || constraint?.contype === "CONSTR_NOTNULL";
      if (command.subtype === "AT_AddConstraint" && keys && names(constraint?.keys).includes(column)) return true;
      continue;
    }
    if (command.subtype === "AT_SetNotNull") return true;
    if (command.subtype === "AT_DropNotNull") return false;
    if (command.subtype === "AT_DropColumn") return "unknown";
  }
  return undefined;
}

/** NOT NULL, PRIMARY KEY, an identity or a serial type on the column definition. */
export function columnDefNotNull(def: ColumnDef): boolean {
  const type = sqlType(def.typeName);
  return (
    def.is_not_null === true ||
    (type !== undefined && SERIAL_TYPES.has(type.name) && !type.array) ||
    columnConstraints(def).some(
      (c) => c.contype === "CONSTR_NOTNULL" || c.contype === "CONSTR_PRIMARY" || c.contype === "CONSTR_IDENTITY",
    )
  );
}
