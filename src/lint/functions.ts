/**
 * The SQL in the functions and procedures a migration calls. Creating a function runs nothing;
 * `SELECT backfill();`, `CALL p();` or `PERFORM backfill();` in a DO block runs its body right
 * there, in the caller's transaction. So the statements of a PL/pgSQL or SQL body are linted where
 * the function is called, as if written after the call: they become Statements whose `parent` is
 * the calling top-level statement (one transaction, one suppression target, like a DO block's)
 * and whose `via` names the function. A migration may call a function that an earlier file
 * defined, so one FunctionRegistry serves every file of a lint run.
 */
import { parseSync } from "libpg-query";
import { type Node, names, nodeAs, nodesAs } from "./ast.js";
import { type BodySql, type BodyStatement, placeBodySql, plpgsqlBodySql, statementsInDoBlock } from "./plpgsql.js";
import { SourceText } from "./source.js";
import type { Statement } from "./statement.js";

/** Calls nested deeper than this (a function calling a function calling ...) are not followed. */
export const MAX_CALL_DEPTH = 3;

/** A function or procedure with a PL/pgSQL or SQL body given as a string. */
export interface RoutineDefinition {
  /** As written: "backfill", "audit.backfill". */
  name: string;
  /** The schema when the name is qualified. */
  schema: string | undefined;
  language: "plpgsql" | "sql";
  body: string;
  /** The CREATE FUNCTION or CREATE PROCEDURE statement. */
  statement: Statement;
  /** The source of the file that created it; statement's offsets are offsets in it. */
  source: SourceText;
  /** The body's offset in that source, when written there verbatim (a dollar-quoted body). */
  bodyStart: number | undefined;
}

/**
 * The functions created so far in a lint run, by lower-cased name and, when created with a
 * qualified name, by schema.name too. The latest definition of a name wins (CREATE OR REPLACE);
 * overloads are not told apart.
 */
export class FunctionRegistry {
  readonly #byName = new Map<string, RoutineDefinition>();
  readonly #bodies = new WeakMap<RoutineDefinition, BodySql[]>();

  /** Records what a statement that runs does to the functions: CREATE [OR REPLACE], DROP. */
  record(statement: Statement, source: SourceText): void {
    const create = nodeAs(statement.node, "CreateFunctionStmt");
    if (create !== undefined) {
      const parts = names(create.funcname);
      // Whatever the new definition is, it replaces the old one under this name.
      this.#forget(this.lookup(parts));
      const definition = routineDefinition(statement, source);
      if (definition === undefined) return;
      const bare = definition.name.split(".").pop() ?? definition.name;
      this.#byName.set(bare.toLowerCase(), definition);
      if (definition.schema !== undefined) this.#byName.set(definition.name.toLowerCase(), definition);
      return;
    }
    const drop = nodeAs(statement.node, "DropStmt");
    if (
      drop?.removeType === "OBJECT_FUNCTION" ||
      drop?.removeType === "OBJECT_PROCEDURE" ||
      drop?.removeType === "OBJECT_ROUTINE"
    ) {
      for (const object of nodesAs(drop.objects, "ObjectWithArgs")) this.#forget(this.lookup(names(object.objname)));
    }
  }

  /** The function a name (as in a call: ["backfill"], ["public", "backfill"]) refers to. */
  lookup(nameParts: readonly string[]): RoutineDefinition | undefined {
    const parts = nameParts.map((p) => p.toLowerCase());
    const name = parts[parts.length - 1];
    if (name === undefined) return undefined;
    const schema = parts[parts.length - 2];
    if (schema === undefined) return this.#byName.get(name);
    const qualified = this.#byName.get(`${schema}.${name}`);
    if (qualified !== undefined) return qualified;
    // An unqualified CREATE FUNCTION puts it in the first schema of search_path: public by default.
    const bare = this.#byName.get(name);
    return schema === "public" && bare?.schema === undefined ? bare : undefined;
  }

  /** The SQL in a definition's body, positioned in the body (parsed once). */
  bodySql(definition: RoutineDefinition): BodySql[] {
    let parts = this.#bodies.get(definition);
    if (parts === undefined) {
      parts =
        definition.language === "plpgsql"
          ? plpgsqlBodySql(definition.body, definition.statement.text)
          : sqlBodySql(definition.body);
      this.#bodies.set(definition, parts);
    }
    return parts;
  }

  #forget(definition: RoutineDefinition | undefined): void {
    if (definition === undefined) return;
    for (const [key, value] of this.#byName) if (value === definition) this.#byName.delete(key);
  }
}

function routineDefinition(statement: Statement, source: SourceText): RoutineDefinition | undefined {
  const create = nodeAs(statement.node, "CreateFunctionStmt");
  // A SQL-standard body (BEGIN ATOMIC ..., RETURN ...) is parsed already and runs no DDL.
  if (create === undefined || create.sql_body !== undefined) return undefined;
  const options = nodesAs(create.options, "DefElem");
  const language = nodeAs(options.find((o) => o.defname === "language")?.arg, "String")?.sval?.toLowerCase();
  if (language !== "plpgsql" && language !== "sql") return undefined;
  const as = nodeAs(options.find((o) => o.defname === "as")?.arg, "List")?.items;
  const body = as?.length === 1 ? nodeAs(as[0], "String")?.sval : undefined;
  const parts = names(create.funcname);
  const name = parts.slice(-2).join(".");
  if (body === undefined || name === "") return undefined;
  // The statement's text is the source's text at its offsets unless it came from dynamic SQL.
  const verbatim = source.text.slice(statement.start, statement.end) === statement.text;
  const found = verbatim ? statement.text.indexOf(body) : -1;
  return {
    name,
    schema: parts.length > 1 ? parts[parts.length - 2] : undefined,
    language,
    body,
    statement,
    source,
    bodyStart: found < 0 ? undefined : statement.start + found,
  };
}

/** The statements of a LANGUAGE sql body, positioned in the body. */
function sqlBodySql(body: string): BodySql[] {
  let raw: ReturnType<typeof parseSync>["stmts"];
  try {
    raw = parseSync(body).stmts;
  } catch {
    return []; // CREATE FUNCTION validates a SQL body, so this one never ran
  }
  const text = new SourceText(body);
  const out: BodySql[] = [];
  for (const rawStmt of raw ?? []) {
    if (rawStmt.stmt === undefined) continue;
    const from = text.indexOfByte(rawStmt.stmt_location ?? 0);
    const to = rawStmt.stmt_len ? text.indexOfByte((rawStmt.stmt_location ?? 0) + rawStmt.stmt_len) : body.length;
    const start = from + (LEADING_TRIVIA.exec(body.slice(from, to))?.[0].length ?? 0);
    const query = body.slice(start, to).replace(/[\s;]+$/, "");
    out.push({ query, nodes: [rawStmt.stmt], start, end: start + query.length, role: "statement" });
  }
  return out;
}

/** Whitespace and comments before a statement. */
const LEADING_TRIVIA = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;

/**
 * Statements that only store an expression for later (a view, a default in a new table, a
 * trigger's WHEN, a policy) or create a function: the functions they mention do not run now.
 */
const STORES_EXPRESSIONS = new Set<string>([
  "CreateFunctionStmt",
  "ViewStmt",
  "RuleStmt",
  "CreatePolicyStmt",
  "AlterPolicyStmt",
  "CreateTrigStmt",
  "CreateStmt",
  "CreateDomainStmt",
]);

/** The recorded functions a statement calls, each once, in the order written. */
function calledRoutines(statement: Statement, functions: FunctionRegistry): RoutineDefinition[] {
  if (STORES_EXPRESSIONS.has(statement.kind)) return [];
  if (nodeAs(statement.node, "CreateTableAsStmt")?.into?.skipData) return []; // WITH NO DATA
  const found: RoutineDefinition[] = [];
  const add = (funcname: Node[] | undefined) => {
    const definition = functions.lookup(names(funcname));
    if (definition !== undefined && !found.includes(definition)) found.push(definition);
  };
  add(nodeAs(statement.node, "CallStmt")?.funccall?.funcname);
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (typeof value !== "object" || value === null) return;
    const call = (value as { FuncCall?: { funcname?: Node[] } }).FuncCall;
    if (call !== undefined) add(call.funcname);
    for (const child of Object.values(value)) walk(child);
  };
  walk(statement.node);
  return found;
}

/**
 * The statements that run inside a top-level statement, in the order they run: a DO block's,
 * and the bodies of the functions it (or they) call, each after the statement that calls it.
 * Records the functions created or dropped on the way.
 */
export function statementsRunBy(top: Statement, source: SourceText, functions: FunctionRegistry): Statement[] {
  const out: Statement[] = [];
  const run = (
    { statement, role }: BodyStatement,
    calls: readonly { definition: RoutineDefinition; site: Statement }[],
  ) => {
    if (role === "statement") {
      if (statement !== top) out.push(statement);
      functions.record(statement, source);
    }
    if (statement === top && top.kind === "DoStmt") {
      for (const part of statementsInDoBlock(top, source)) run(part, []);
    }
    if (calls.length >= MAX_CALL_DEPTH) return;
    for (const definition of calledRoutines(statement, functions)) {
      if (calls.some((c) => c.definition === definition)) continue; // recursion: already running
      const path = [...calls, { definition, site: statement }];
      const placed = placeBodySql(functions.bodySql(definition), {
        source,
        bodyStart: definition.source === source ? definition.bodyStart : undefined,
        fallback: statement,
        parent: top,
        via: {
          functions: path.map((c) => c.definition.name),
          definitions: path.map((c) => c.definition.statement),
          line: calls[0]?.site.line ?? statement.line,
        },
      });
      for (const part of placed) run(part, path);
    }
  };
  run({ statement: top, role: "statement" }, []);
  return out;
}
