/**
 * The SQL a DO block runs. A migration that wraps its DDL in `DO $$ BEGIN ... END $$` (to add an
 * IF, or to catch an exception) takes the same locks and breaks the same code as plain SQL, so
 * the statements inside are linted too. libpg-query parses PL/pgSQL only as a function body, so the
 * block is wrapped in a CREATE FUNCTION; each embedded statement is then parsed on its own.
 * Dynamic SQL is linted when it is a string constant (EXECUTE 'ALTER TABLE ...').
 */
import { parsePlPgSQLSync, parseSync } from "libpg-query";
import { nodeAs, nodesAs } from "./ast.js";
import type { SourceText } from "./source.js";
import { makeStatement, type Statement } from "./statement.js";

interface Embedded {
  query: string;
  /** 1-based line within the block's body. */
  lineno: number;
  dynamic: boolean;
}

export function statementsInDoBlock(block: Statement, source: SourceText): Statement[] {
  const args = nodesAs(nodeAs(block.node, "DoStmt")?.args, "DefElem");
  const language = nodeAs(args.find((a) => a.defname === "language")?.arg, "String")?.sval;
  if (language !== undefined && language.toLowerCase() !== "plpgsql") return [];
  const body = nodeAs(args.find((a) => a.defname === "as")?.arg, "String")?.sval;
  if (body === undefined) return [];
  const embedded = embeddedSql(body);
  // Dollar-quoted bodies appear verbatim in the statement; positions fall back to the DO itself.
  const found = block.text.indexOf(body);
  const bodyStart = found < 0 ? undefined : block.start + found;
  const lineStarts = [0];
  for (let i = 0; i < body.length; i++) if (body[i] === "\n") lineStarts.push(i + 1);

  const statements: Statement[] = [];
  let searchFrom = 0;
  for (const { query, lineno, dynamic } of embedded) {
    let nodes: ReturnType<typeof parseSync>["stmts"];
    try {
      nodes = parseSync(query).stmts;
    } catch {
      continue; // PostgreSQL reports it when the block runs; nothing here to lint.
    }
    let start = block.start;
    let end = block.end;
    if (bodyStart !== undefined) {
      const at = body.indexOf(query, Math.max(searchFrom, lineStarts[lineno - 1] ?? 0));
      if (at >= 0 && !dynamic) {
        start = bodyStart + at;
        end = start + query.length;
        searchFrom = at + query.length;
      } else {
        start = bodyStart + (lineStarts[lineno - 1] ?? 0);
        while (start < block.end && /\s/.test(source.text[start] as string)) start++;
        end = start;
      }
    }
    for (const raw of nodes ?? []) {
      if (raw.stmt === undefined) continue;
      const statement = makeStatement(block.file, block.index, raw.stmt, source, start, end);
      statements.push({ ...statement, text: query, parent: block });
    }
  }
  return statements;
}

function embeddedSql(body: string): Embedded[] {
  let tree: unknown;
  try {
    tree = parsePlPgSQLSync(
      `CREATE FUNCTION baton_do_block() RETURNS void LANGUAGE plpgsql AS $baton_do$${body}$baton_do$`,
    );
  } catch {
    return []; // an invalid body fails when the block runs, before any of it takes effect
  }
  const found: Embedded[] = [];
  collect(tree, found);
  return found;
}

/** Walks the PL/pgSQL tree (plain JSON; its node types are not in @pgsql/types). */
function collect(value: unknown, out: Embedded[]): void {
  if (Array.isArray(value)) {
    for (const item of value) collect(item, out);
    return;
  }
  if (typeof value !== "object" || value === null) return;
  const record = value as Record<string, unknown>;
  const execsql = record.PLpgSQL_stmt_execsql as { lineno?: number; sqlstmt?: { PLpgSQL_expr?: { query?: string } } };
  if (execsql?.sqlstmt?.PLpgSQL_expr?.query !== undefined) {
    out.push({ query: execsql.sqlstmt.PLpgSQL_expr.query, lineno: execsql.lineno ?? 1, dynamic: false });
  }
  const dynexecute = record.PLpgSQL_stmt_dynexecute as {
    lineno?: number;
    query?: { PLpgSQL_expr?: { query?: string } };
  };
  const literal = stringLiteral(dynexecute?.query?.PLpgSQL_expr?.query);
  if (literal !== undefined) out.push({ query: literal, lineno: dynexecute?.lineno ?? 1, dynamic: true });
  for (const child of Object.values(record)) collect(child, out);
}

/** The value of a plain '...' literal ('' is a quote), or undefined for any other expression. */
function stringLiteral(expression: string | undefined): string | undefined {
  const match = expression === undefined ? null : /^\s*'((?:[^']|'')*)'\s*$/.exec(expression);
  return match ? (match[1] as string).replaceAll("''", "'") : undefined;
}
