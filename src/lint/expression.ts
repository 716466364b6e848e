/**
 * SQL text for the small expressions rules quote back in their safe sequences: a column default
 * (`gen_random_uuid()`, `nextval('s'::regclass)`), a generated column's expression, a partition
 * bound's values. libpg-query's WebAssembly build has no deparser, so this renders the common node
 * kinds and gives up (undefined) on anything else: the rule then writes a placeholder.
 */
import { type Node, names, nodeAs, nodesAs } from "./ast.js";

/** columnPrefix goes before each column reference: "NEW." renders the expression for a row trigger. */
export function expressionText(node: Node | undefined, columnPrefix = ""): string | undefined {
  if (node === undefined) return undefined;
  const constant = nodeAs(node, "A_Const");
  if (constant !== undefined) {
    if (constant.isnull) return "NULL";
    if (constant.sval !== undefined) return quoteLiteral(constant.sval.sval ?? "");
    if (constant.ival !== undefined) return String(constant.ival.ival ?? 0);
    if (constant.fval !== undefined) return constant.fval.fval ?? "0";
    if (constant.boolval !== undefined) return constant.boolval.boolval ? "true" : "false";
    return undefined;
  }
  const cast = nodeAs(node, "TypeCast");
  if (cast !== undefined) {
    const inner = operandText(cast.arg, columnPrefix);
    const type = names(cast.typeName?.names)
      .filter((n) => n !== "pg_catalog")
      .join(".");
    return inner === undefined || type === "" ? undefined : `${inner}::${type}`;
  }
  const call = nodeAs(node, "FuncCall");
  if (call !== undefined) {
    if (call.agg_star || call.over !== undefined || call.agg_order !== undefined) return undefined;
    const args = (call.args ?? []).map((a) => expressionText(a, columnPrefix));
    if (args.some((a) => a === undefined)) return undefined;
    return `${names(call.funcname).join(".")}(${args.join(", ")})`;
  }
  const ref = nodeAs(node, "ColumnRef");
  if (ref !== undefined) {
    const fields = nodesAs(ref.fields, "String").map((f) => f.sval ?? "");
    return fields.length === (ref.fields?.length ?? 0) && fields.length > 0
      ? columnPrefix + fields.join(".")
      : undefined;
  }
  const op = nodeAs(node, "A_Expr");
  if (op?.kind === "AEXPR_OP") {
    const name = names(op.name).join(".");
    const left = op.lexpr === undefined ? "" : operandText(op.lexpr, columnPrefix);
    const right = operandText(op.rexpr, columnPrefix);
    if (left === undefined || right === undefined || name === "") return undefined;
    return left === "" ? `${name}${right}` : `${left} ${name} ${right}`;
  }
  const value = nodeAs(node, "SQLValueFunction");
  // CURRENT_TIMESTAMP(3) and friends (op ..._N) carry a precision this does not render.
  if (value?.op !== undefined && !value.op.endsWith("_N")) return value.op.replace(/^SVFOP_/, "");
  return undefined;
}

/** An operand of an operator: parenthesised when it is an operator expression itself. */
function operandText(node: Node | undefined, columnPrefix: string): string | undefined {
  const text = expressionText(node, columnPrefix);
  return text !== undefined && nodeAs(node, "A_Expr") !== undefined ? `(${text})` : text;
}

export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The function names an expression calls, lower case and without their schema, in order. */
export function calledFunctions(node: unknown): string[] {
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === "object" && value !== null) {
      const call = (value as { FuncCall?: { funcname?: Node[] } }).FuncCall;
      const name = call === undefined ? undefined : names(call.funcname).pop()?.toLowerCase();
      if (name !== undefined && !out.includes(name)) out.push(name);
      Object.values(value).forEach(walk);
    }
  };
  walk(node);
  return out;
}
