/**
 * Parse a migration file with PostgreSQL's own grammar (libpg-query, WebAssembly) into statements
 * that know where they are in the file, plus the file's comments (for suppressions). A syntax
 * error anywhere means PostgreSQL would run nothing of the file either, so the file then has no
 * statements, only the error.
 */
import { loadModule, parseSync, type RawStmt, scanSync } from "libpg-query";
import { FunctionRegistry, statementsRunBy } from "./functions.js";
import { SourceText } from "./source.js";
import { makeStatement, type Statement } from "./statement.js";

export type { Statement };

export interface Comment {
  text: string;
  start: number;
  end: number;
  line: number;
  column: number;
  endLine: number;
}

export interface SyntaxProblem {
  message: string;
  line: number;
  column: number;
}

export interface ParsedFile {
  file: string;
  source: SourceText;
  /**
   * Top-level statements, each followed by the statements it runs: those of its DO block when it
   * is one, and the bodies of the functions it calls (functions.ts).
   */
  statements: Statement[];
  comments: Comment[];
  syntaxError?: SyntaxProblem;
}

let loading: Promise<void> | undefined;

/** Compiles the WebAssembly parser once per process; parseSql awaits it. */
export function loadParser(): Promise<void> {
  loading ??= loadModule();
  return loading;
}

/**
 * `functions`: the functions created by the files parsed before this one in the same run (they
 * may be called here); the functions this file creates are added to it.
 */
export async function parseSql(sql: string, file: string, functions?: FunctionRegistry): Promise<ParsedFile> {
  await loadParser();
  return parseSqlLoaded(sql, file, functions);
}

/** parseSql for callers that already awaited loadParser(). */
export function parseSqlLoaded(sql: string, file: string, functions = new FunctionRegistry()): ParsedFile {
  const source = new SourceText(sql.startsWith("\uFEFF") ? sql.slice(1) : sql);
  const comments = scanComments(source);
  let raw: RawStmt[];
  try {
    // The wrapper rejects "" ("Query cannot be empty") though PostgreSQL accepts it; a blank file is fine.
    raw = source.text === "" ? [] : (parseSync(source.text).stmts ?? []);
  } catch (error) {
    return { file, source, statements: [], comments, syntaxError: syntaxProblem(error, source) };
  }
  const trivia = new Trivia(source.text, comments);
  const statements: Statement[] = [];
  raw.forEach((rawStmt, index) => {
    if (rawStmt.stmt === undefined) return;
    // Protobuf JSON omits zeros: no stmt_location is offset 0, no stmt_len is "to the end".
    const from = source.indexOfByte(rawStmt.stmt_location ?? 0);
    const to = rawStmt.stmt_len
      ? source.indexOfByte((rawStmt.stmt_location ?? 0) + rawStmt.stmt_len)
      : source.text.length;
    const start = trivia.skipForward(from, to);
    const end = trivia.skipBackward(to, start);
    const statement = makeStatement(file, index, rawStmt.stmt, source, start, end);
    statements.push(statement, ...statementsRunBy(statement, source, functions));
  });
  return { file, source, statements, comments };
}

function scanComments(source: SourceText): Comment[] {
  let tokens: ReturnType<typeof scanSync>["tokens"];
  try {
    tokens = scanSync(source.text).tokens;
  } catch {
    // The scanner fails only where the parser fails too (an unterminated string or comment);
    // the syntax error is reported and suppressions have nothing left to apply to.
    return [];
  }
  const comments: Comment[] = [];
  for (const token of tokens) {
    if (token.tokenName !== "SQL_COMMENT" && token.tokenName !== "C_COMMENT") continue;
    const start = source.indexOfByte(token.start);
    const end = source.indexOfByte(token.end);
    const { line, column } = source.position(start);
    comments.push({
      text: source.text.slice(start, end),
      start,
      end,
      line,
      column,
      endLine: source.position(end).line,
    });
  }
  return comments;
}

/** Whitespace and comments between statements, which belong to no statement's text. */
class Trivia {
  readonly #text: string;
  readonly #byStart = new Map<number, number>();
  readonly #byEnd = new Map<number, number>();

  constructor(text: string, comments: readonly Comment[]) {
    this.#text = text;
    for (const c of comments) {
      this.#byStart.set(c.start, c.end);
      this.#byEnd.set(c.end, c.start);
    }
  }

  skipForward(index: number, limit: number): number {
    let i = index;
    for (;;) {
      while (i < limit && /\s/.test(this.#text[i] as string)) i++;
      const commentEnd = this.#byStart.get(i);
      if (commentEnd === undefined || i >= limit) return i;
      i = commentEnd;
    }
  }

  skipBackward(index: number, limit: number): number {
    let i = index;
    for (;;) {
      while (i > limit && /[\s;]/.test(this.#text[i - 1] as string)) i--;
      const commentStart = this.#byEnd.get(i);
      if (commentStart === undefined || i <= limit) return i;
      i = commentStart;
    }
  }
}

function syntaxProblem(error: unknown, source: SourceText): SyntaxProblem {
  const message = error instanceof Error ? error.message : String(error);
  const details = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
  // The cursor counts characters (not bytes, not UTF-16 units) from 0.
  const cursor = details?.cursorPosition;
  const index = cursor === undefined || cursor < 0 ? 0 : source.indexOfChar(cursor);
  return { message, ...source.position(index) };
}
