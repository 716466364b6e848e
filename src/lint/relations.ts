/**
 * What earlier statements of a lint run say about indexes, partitions and CHECK constraints: the
 * table an index belongs to, a partitioned table's key and default partition, the CHECK
 * constraints a table has validated. Like schema.ts, it reads Context.history; a fact the
 * migrations linted here do not show is undefined (or absent), never guessed.
 */
import type { Constraint } from "libpg-query";
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
} from "./ast.js";
import type { Statement } from "./statement.js";

/** An index lives in its table's schema: "audit.users_email_idx" for a table in audit. */
function indexName(index: string, schema: string | undefined): string {
  return qualifiedName(schema === undefined ? [index] : [schema, index]);
}

/** The table the index was created on, following index and table renames; undefined when unknown. */
export function indexTable(history: readonly Statement[], index: string): string | undefined {
  const tables = new IndexTables();
  for (const statement of history) tables.apply(statement);
  return tables.table(index);
}

/** Which table each index belongs to, as a walk through the history so far says. */
export class IndexTables {
  readonly #tables = new Map<string, string>();

  table(index: string): string | undefined {
    return this.#tables.get(index);
  }

  /** Records what the statement does to indexes: CREATE INDEX, renames, DROP INDEX or TABLE. */
  apply(statement: Statement): void {
    const tables = this.#tables;
    const node = statement.node;
    const create = nodeAs(node, "IndexStmt");
    if (create?.idxname !== undefined) {
      tables.set(indexName(create.idxname, create.relation?.schemaname), relationName(create.relation));
      return;
    }
    const rename = nodeAs(node, "RenameStmt");
    if (rename?.relation !== undefined && rename.newname !== undefined) {
      const from = relationName(rename.relation);
      const to = indexName(rename.newname, rename.relation.schemaname);
      if (rename.renameType === "OBJECT_INDEX") {
        const table = tables.get(from);
        tables.delete(from);
        if (table !== undefined) tables.set(to, table);
      } else if (rename.renameType === "OBJECT_TABLE") {
        for (const [i, table] of tables) if (table === from) tables.set(i, to);
      }
      return;
    }
    const drop = nodeAs(node, "DropStmt");
    for (const object of nodesAs(drop?.objects, "List")) {
      const name = qualifiedName(names(object.items));
      if (drop?.removeType === "OBJECT_INDEX") tables.delete(name);
      else if (drop?.removeType === "OBJECT_TABLE")
        for (const [i, table] of tables) if (table === name) tables.delete(i);
    }
  }
}

/** A partitioned table's key as its CREATE TABLE ... PARTITION BY declared it. */
export interface PartitionKey {
  strategy: "range" | "list" | "hash";
  /** The key's columns; undefined when a part of the key is an expression. */
  columns: string[] | undefined;
}

export function partitionKey(history: readonly Statement[], table: string): PartitionKey | undefined {
  let found: PartitionKey | undefined;
  for (const statement of history) {
    const create = nodeAs(statement.node, "CreateStmt");
    if (create === undefined || relationName(create.relation) !== table) continue;
    const spec = create.partspec;
    if (spec === undefined) {
      found = undefined;
      continue;
    }
    const elements = nodesAs(spec.partParams, "PartitionElem");
    const columns = elements.map((e) => e.name);
    const strategy =
      spec.strategy === "PARTITION_STRATEGY_LIST"
        ? "list"
        : spec.strategy === "PARTITION_STRATEGY_HASH"
          ? "hash"
          : "range";
    found = {
      strategy,
      columns: columns.every((c) => c !== undefined) ? (columns as string[]) : undefined,
    };
  }
  return found;
}

/** The default partition of a partitioned table, if the history attached or created one. */
export function defaultPartition(history: readonly Statement[], parent: string): string | undefined {
  let found: string | undefined;
  for (const statement of history) {
    const node = statement.node;
    const create = nodeAs(node, "CreateStmt");
    if (create?.partbound?.is_default) {
      const of = nodesAs(create.inhRelations, "RangeVar")[0];
      if (relationName(of) === parent) found = relationName(create.relation);
      continue;
    }
    const { relation, commands } = alterCommands(node);
    if (relationName(relation) === parent) {
      for (const command of commands) {
        const partition = nodeAs(command.def, "PartitionCmd");
        const name = relationName(partition?.name);
        if (command.subtype === "AT_AttachPartition" && partition?.bound?.is_default) found = name;
        else if (command.subtype === "AT_DetachPartition" && name === found) found = undefined;
      }
    }
    const drop = nodeAs(node, "DropStmt");
    if (drop?.removeType === "OBJECT_TABLE" && found !== undefined) {
      if (nodesAs(drop.objects, "List").some((o) => qualifiedName(names(o.items)) === found)) found = undefined;
    }
  }
  return found;
}

/** A CHECK constraint of a table, as the history defined it. */
export interface CheckConstraint {
  name: string;
  columns: string[];
  validated: boolean;
  statement: Statement;
}

/**
 * The CHECK constraints the table has after the history: those of its CREATE TABLE (valid at
 * once) and those added since (valid unless NOT VALID, until a VALIDATE), minus dropped ones.
 */
export function checkConstraints(history: readonly Statement[], table: string): CheckConstraint[] {
  let checks: CheckConstraint[] = [];
  const add = (constraint: Constraint, columns: string[], validated: boolean, statement: Statement) => {
    const name = constraint.conname ?? defaultConstraintName(table, columns.slice(0, 1), "check");
    checks = [...checks.filter((c) => c.name !== name), { name, columns, validated, statement }];
  };
  for (const statement of history) {
    const create = nodeAs(statement.node, "CreateStmt");
    if (create !== undefined && relationName(create.relation) === table) {
      checks = [];
      for (const c of nodesAs(create.tableElts, "Constraint"))
        if (c.contype === "CONSTR_CHECK") add(c, referencedColumns(c.raw_expr), true, statement);
      for (const column of nodesAs(create.tableElts, "ColumnDef"))
        for (const c of columnConstraints(column))
          if (c.contype === "CONSTR_CHECK") add(c, [column.colname ?? "?"], true, statement);
      continue;
    }
    const drop = nodeAs(statement.node, "DropStmt");
    if (
      drop?.removeType === "OBJECT_TABLE" &&
      nodesAs(drop.objects, "List").some((o) => qualifiedName(names(o.items)) === table)
    ) {
      checks = [];
      continue;
    }
    const { relation, commands } = alterCommands(statement.node);
    if (relationName(relation) !== table) continue;
    for (const command of commands) {
      const constraint = nodeAs(command.def, "Constraint");
      if (command.subtype === "AT_AddConstraint" && constraint?.contype === "CONSTR_CHECK")
        add(constraint, referencedColumns(constraint.raw_expr), !constraint.skip_validation, statement);
      else if (command.subtype === "AT_AddColumn") {
        const column = nodeAs(command.def, "ColumnDef");
        for (const c of columnConstraints(column))
          if (c.contype === "CONSTR_CHECK") add(c, [column?.colname ?? "?"], !c.skip_validation, statement);
      } else if (command.subtype === "AT_ValidateConstraint")
        checks = checks.map((c) => (c.name === command.name ? { ...c, validated: true, statement } : c));
      else if (command.subtype === "AT_DropConstraint") checks = checks.filter((c) => c.name !== command.name);
    }
  }
  return checks;
}
