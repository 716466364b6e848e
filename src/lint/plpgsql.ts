/**
 * The SQL a PL/pgSQL body runs: a DO block's, or a function's when a migration calls it
 * (functions.ts). A migration that wraps its DDL in `DO $$ BEGIN ... END $$` (to add an IF, or to
 * catch an exception) takes the same locks and breaks the same code as plain SQL, so the
 * statements inside are linted too. libpg-query parses PL/pgSQL only as a function body, so a DO
 * block is wrapped in a CREATE FUNCTION; each embedded statement is then parsed on its own.
 * Dynamic SQL is linted when it is a string constant (EXECUTE 'ALTER TABLE ...').
 *
 * Expressions (IF conditions, PERFORM, assignments, FOR ... IN queries) are not statements to
 * lint, but the functions they call run too, so they are returned for functions.ts to follow.
 */
import { parsePlPgSQLSync, parseSync } from "libpg-query";
import { type Node, nodeAs, nodesAs } from "./ast.js";
import type { SourceText } from "./source.js";
import { makeStatement, type Statement, type Via } from "./statement.js";

/** A piece of SQL in a routine's body (a DO block's or a function's), positioned in the body. */
export interface BodySql {
  /** The SQL as PostgreSQL runs it. */
  query: string;
  /** Its parsed statements; an expression is parsed as `SELECT <expression>`. */
  nodes: Node[];
  /** Offsets in the body: the query itself when written there verbatim, else the start of its line (start === end). */
  start: number;
  end: number;
  /**
   * "statement": a statement the body runs, linted like any other. "expression": an IF condition,
   * PERFORM, assignment or loop query, looked at only for the functions it calls.
   */
  role: "statement" | "expression";
}

/** A BodySql placed in the file, as a Statement. */
export interface BodyStatement {
  statement: Statement;
  role: BodySql["role"];
}

interface Embedded {
  query: string;
  /** 1-based line within the body. */
  lineno: number;
  /** Dynamic SQL (EXECUTE '...'): the text in the body is a quoted literal, not the query itself. */
  dynamic: boolean;
  role: BodySql["role"];
  /** libpg-query's parseMode: 0 a full statement, 2 an expression, 3-5 an assignment (`x := ...`). */
  parseMode: number;
}

/** The body of a DO block when it is PL/pgSQL (the default language), else undefined. */
export function doBlockBody(block: Statement): string | undefined {
  const args = nodesAs(nodeAs(block.node, "DoStmt")?.args, "DefElem");
  const language = nodeAs(args.find((a) => a.defname === "language")?.arg, "String")?.sval;
  if (language !== undefined && language.toLowerCase() !== "plpgsql") return undefined;
  return nodeAs(args.find((a) => a.defname === "as")?.arg, "String")?.sval;
}

/** The statements and expressions of a DO block, placed where they are written. */
export function statementsInDoBlock(block: Statement, source: SourceText): BodyStatement[] {
  const body = doBlockBody(block);
  if (body === undefined) return [];
  // Dollar-quoted bodies appear verbatim in the statement; positions fall back to the DO itself.
  const found = block.text.indexOf(body);
  return placeBodySql(plpgsqlBodySql(body), {
    source,
    bodyStart: found < 0 ? undefined : block.start + found,
    fallback: block,
    parent: block,
  });
}

/** Where the SQL of a body goes in the file being parsed, and what runs it. */
export interface Placement {
  source: SourceText;
  /** The body's offset in the source, when the body is written there verbatim. */
  bodyStart: number | undefined;
  /** The statement whose position the SQL takes when the body is elsewhere (another file, a quoted string). */
  fallback: Statement;
  /** The top-level statement that runs it (a DO block, or the statement that calls the function). */
  parent: Statement;
  via?: Via;
}

export function placeBodySql(parts: readonly BodySql[], at: Placement): BodyStatement[] {
  const out: BodyStatement[] = [];
  for (const part of parts) {
    const start = at.bodyStart === undefined ? at.fallback.start : at.bodyStart + part.start;
    const end = at.bodyStart === undefined ? at.fallback.end : at.bodyStart + part.end;
    for (const node of part.nodes) {
      const statement = makeStatement(at.parent.file, at.parent.index, node, at.source, start, end);
      const placed: Statement = { ...statement, text: part.query, parent: at.parent };
      if (at.via !== undefined) placed.via = at.via;
      out.push({ statement: placed, role: part.role });
    }
  }
  return out;
}

/**
 * The SQL in a PL/pgSQL body. `definition`, the CREATE FUNCTION statement the body comes from,
 * is parsed as it is (its parameters are variables the body may assign); a DO block's body is
 * wrapped in a function without any.
 */
export function plpgsqlBodySql(body: string, definition?: string): BodySql[] {
  const embedded = embeddedSql(body, definition);
  const lineStarts = [0];
  for (let i = 0; i < body.length; i++) if (body[i] === "\n") lineStarts.push(i + 1);

  const out: BodySql[] = [];
  let searchFrom = 0;
  for (const { query, lineno, dynamic, role, parseMode } of embedded) {
    const nodes = parseEmbedded(query, parseMode);
    if (nodes === undefined) continue; // PostgreSQL reports it when the body runs; nothing here to lint.
    const lineStart = lineStarts[lineno - 1] ?? 0;
    const at = role === "statement" && !dynamic ? body.indexOf(query, Math.max(searchFrom, lineStart)) : -1;
    if (at >= 0) {
      out.push({ query, nodes, start: at, end: at + query.length, role });
      searchFrom = at + query.length;
    } else {
      let start = lineStart;
      while (start < body.length && /\s/.test(body[start] as string)) start++;
      out.push({ query, nodes, start, end: start, role });
    }
  }
  return out;
}

function parseEmbedded(query: string, parseMode: number): Node[] | undefined {
  let sql = query;
  if (parseMode === 2) sql = `SELECT ${query}`;
  else if (parseMode >= 3) {
    // `target := expression` (or `target = expression`): only the expression runs anything.
    const assign = /:=|=/.exec(query);
    sql = `SELECT ${assign === null ? query : query.slice(assign.index + assign[0].length)}`;
  }
  try {
    return (parseSync(sql).stmts ?? []).flatMap((raw) => (raw.stmt === undefined ? [] : [raw.stmt]));
  } catch {
    return undefined;
  }
}

function embeddedSql(body: string, definition: string | undefined): Embedded[] {
  const attempts = [
    ...(definition === undefined ? [] : [definition]),
    `CREATE FUNCTION baton_do_block() RETURNS void LANGUAGE plpgsql AS $baton_do$${body}$baton_do$`,
  ];
  for (const sql of attempts) {
    let tree: unknown;
    try {
      tree = parsePlPgSQLSync(sql);
    } catch {
      continue; // an invalid body fails when it runs, before any of it takes effect
    }
    const found: Embedded[] = [];
    collect(tree, 1, found);
    return found;
  }
  return [];
}

interface PlExpr {
  PLpgSQL_expr?: { query?: string; parseMode?: number };
}

/**
 * Walks the PL/pgSQL tree (plain JSON; its node types are not in @pgsql/types), in the order the
 * body is written. `lineno` is the line of the innermost PL/pgSQL statement around the value.
 */
function collect(value: unknown, lineno: number, out: Embedded[]): void {
  if (Array.isArray(value)) {
    for (const item of value) collect(item, lineno, out);
    return;
  }
  if (typeof value !== "object" || value === null) return;
  const record = value as Record<string, unknown>;
  const line = typeof record.lineno === "number" && record.lineno > 0 ? record.lineno : lineno;

  const execsql = record.PLpgSQL_stmt_execsql as { lineno?: number; sqlstmt?: PlExpr } | undefined;
  const statement = execsql?.sqlstmt?.PLpgSQL_expr?.query;
  if (statement !== undefined) {
    const at = execsql?.lineno ?? line;
    out.push({ query: statement, lineno: at, dynamic: false, role: "statement", parseMode: 0 });
    return;
  }
  const dynexecute = record.PLpgSQL_stmt_dynexecute as { lineno?: number; query?: PlExpr } | undefined;
  const literal = stringLiteral(dynexecute?.query?.PLpgSQL_expr?.query);
  if (literal !== undefined) {
    const at = dynexecute?.lineno ?? line;
    out.push({ query: literal, lineno: at, dynamic: true, role: "statement", parseMode: 0 });
    // Its USING expressions may still call functions.
    collect({ ...dynexecute, query: undefined }, at, out);
    return;
  }
  const expression = (record as PlExpr).PLpgSQL_expr;
  if (expression?.query !== undefined) {
    out.push({
      query: expression.query,
      lineno: line,
      dynamic: false,
      role: "expression",
      parseMode: expression.parseMode ?? 0,
    });
    return;
  }
  for (const child of Object.values(record)) collect(child, line, out);
}

/** The value of a plain '...' literal ('' is a quote), or undefined for any other expression. */
function stringLiteral(expression: string | undefined): string | undefined {
  const match = expression === undefined ? null : /^\s*'((?:[^']|'')*)'\s*$/.exec(expression);
  return match ? (match[1] as string).replaceAll("''", "'") : undefined;
}
