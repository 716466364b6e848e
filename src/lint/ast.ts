/**
 * Typed access to libpg-query's AST. Every node is an object with one key naming its type
 * ({ AlterTableStmt: {...} }); these helpers narrow a node to one type without casts in the rules.
 * The AST is protobuf JSON: fields equal to their zero value (false, 0, "", empty lists) are
 * omitted, so a missing boolean means false and a missing number means 0.
 */
import type { AlterTableCmd, ColumnDef, Constraint, Node, RangeVar, TypeName } from "libpg-query";

export type { Node };

/** Every node type name, e.g. "AlterTableStmt". */
export type NodeKind = Node extends infer N ? (N extends unknown ? keyof N : never) : never;

/** The payload of a node of one kind, e.g. NodeOf<"AlterTableStmt"> is AlterTableStmt. */
export type NodeOf<K extends NodeKind> = Extract<Node, Record<K, unknown>>[K];

/** The node's payload when it is of that kind, else undefined. */
export function nodeAs<K extends NodeKind>(node: Node | undefined, kind: K): NodeOf<K> | undefined {
  if (node === undefined || !Object.hasOwn(node, kind)) return undefined;
  // Object.hasOwn proved the key; TypeScript cannot narrow a union by a generic key.
  return (node as unknown as Record<K, NodeOf<K>>)[kind];
}

/** The kind of a node: its only key. */
export function kindOf(node: Node): NodeKind {
  return Object.keys(node)[0] as NodeKind;
}

/** The payloads of the nodes of one kind in a list, skipping the others. */
export function nodesAs<K extends NodeKind>(nodes: readonly Node[] | undefined, kind: K): NodeOf<K>[] {
  const out: NodeOf<K>[] = [];
  for (const node of nodes ?? []) {
    const payload = nodeAs(node, kind);
    if (payload !== undefined) out.push(payload);
  }
  return out;
}

/** The words of a name list (["public", "users"]), as in DropStmt objects and TypeName names. */
export function names(nodes: readonly Node[] | undefined): string[] {
  return nodesAs(nodes, "String").map((s) => s.sval ?? "");
}

/**
 * A relation's name as rules compare and print it: "users", or "audit.users" outside the public
 * schema (unqualified names resolve to public under the default search_path).
 */
export function relationName(relation: RangeVar | undefined): string {
  if (relation === undefined) return "?";
  const schema = relation.schemaname;
  return schema === undefined || schema === "public" ? (relation.relname ?? "?") : `${schema}.${relation.relname}`;
}

/** The same normalisation for a dotted name list (DROP TABLE's objects). */
export function qualifiedName(parts: readonly string[]): string {
  const relevant = parts.length > 1 && parts[parts.length - 2] === "public" ? parts.slice(-1) : parts.slice(-2);
  return relevant.join(".");
}

/** The subcommands of an ALTER TABLE (one statement can carry several, comma-separated). */
export function alterCommands(node: Node): { relation: RangeVar | undefined; commands: AlterTableCmd[] } {
  const alter = nodeAs(node, "AlterTableStmt");
  return { relation: alter?.relation, commands: nodesAs(alter?.cmds, "AlterTableCmd") };
}

/** The constraints attached to a column definition (NOT NULL, DEFAULT, REFERENCES, CHECK, ...). */
export function columnConstraints(column: ColumnDef | undefined): Constraint[] {
  return nodesAs(column?.constraints, "Constraint");
}

/** A type as written, normalised: `int` is int4, `character varying(20)` is varchar with mods [20]. */
export interface SqlType {
  name: string;
  /** Type modifiers when all are integer constants (varchar(20) → [20], numeric(10,2) → [10, 2]). */
  mods: number[];
  array: boolean;
}

const TYPE_ALIASES: Record<string, string> = {
  integer: "int4",
  int: "int4",
  smallint: "int2",
  bigint: "int8",
  decimal: "numeric",
  "character varying": "varchar",
  character: "bpchar",
  char: "bpchar",
  boolean: "bool",
  real: "float4",
  "double precision": "float8",
  timestamptz: "timestamptz",
};

export function sqlType(typeName: TypeName | undefined): SqlType | undefined {
  const words = names(typeName?.names);
  const last = words[words.length - 1];
  if (last === undefined || typeName === undefined) return undefined;
  const mods: number[] = [];
  for (const mod of typeName.typmods ?? []) {
    const value = nodeAs(mod, "A_Const")?.ival;
    if (value !== undefined) mods.push(value.ival ?? 0);
  }
  return { name: TYPE_ALIASES[last] ?? last, mods, array: (typeName.arrayBounds?.length ?? 0) > 0 };
}

export function formatType(type: SqlType): string {
  return `${type.name}${type.mods.length > 0 ? `(${type.mods.join(",")})` : ""}${type.array ? "[]" : ""}`;
}

/** The value of a constant (A_Const) as text, or undefined when the node is not a constant. */
export function constantText(node: Node | undefined): string | undefined {
  const constant = nodeAs(node, "A_Const");
  if (constant === undefined) return undefined;
  if (constant.isnull) return "NULL";
  if (constant.sval !== undefined) return constant.sval.sval ?? "";
  if (constant.ival !== undefined) return String(constant.ival.ival ?? 0);
  if (constant.fval !== undefined) return constant.fval.fval ?? "0";
  if (constant.boolval !== undefined) return String(constant.boolval.boolval ?? false);
  return constant.bsval?.bsval ?? "";
}

/**
 * The name PostgreSQL gives an unnamed constraint: table_col1_col2_suffix, cut to 63 bytes
 * (suffix "check", "fkey", "key", "pkey", "not_null").
 */
export function defaultConstraintName(table: string, columns: readonly string[], suffix: string): string {
  const relname = table.split(".").pop() ?? table;
  return [relname, ...columns, suffix].join("_").slice(0, 63);
}

/** Column names referenced by an expression, in order of appearance. */
export function referencedColumns(node: unknown): string[] {
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === "object" && value !== null) {
      const ref = (value as { ColumnRef?: { fields?: Node[] } }).ColumnRef;
      const fields = ref === undefined ? [] : nodesAs(ref.fields, "String");
      const last = fields[fields.length - 1]?.sval;
      if (last !== undefined && !out.includes(last)) out.push(last);
      Object.values(value).forEach(walk);
    }
  };
  walk(node);
  return out;
}

/**
 * Whether an option of a parenthesised list (VACUUM (FULL), REINDEX (CONCURRENTLY)) is on: given
 * without a value, or with a true one. `FULL false`, `off`, `no` and `0` turn it off.
 */
export function optionEnabled(options: readonly Node[] | undefined, name: string): boolean {
  const option = nodesAs(options, "DefElem").find((o) => o.defname === name);
  if (option === undefined) return false;
  if (option.arg === undefined) return true;
  const integer = nodeAs(option.arg, "Integer");
  if (integer !== undefined) return (integer.ival ?? 0) !== 0;
  const boolean = nodeAs(option.arg, "Boolean");
  if (boolean !== undefined) return boolean.boolval === true;
  const text = nodeAs(option.arg, "String")?.sval;
  return text === undefined || !["false", "off", "no", "0"].includes(text.toLowerCase());
}
