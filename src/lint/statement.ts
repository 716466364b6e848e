/** One SQL statement of a migration file, as rules see it. */
import { kindOf, type Node, type NodeKind } from "./ast.js";
import type { SourceText } from "./source.js";

export interface Statement {
  file: string;
  /** 0-based position among the file's top-level statements. */
  index: number;
  node: Node;
  kind: NodeKind;
  /** The statement as written, without the trailing semicolon. */
  text: string;
  /** String indices of the statement in the file's source: text is source.slice(start, end). */
  start: number;
  end: number;
  /** 1-based; column counted in characters. */
  line: number;
  column: number;
  endLine: number;
  /**
   * Set on statements that run inside another one: the top-level statement that runs them (a DO
   * block, or a statement that calls a function whose body holds them).
   */
  parent?: Statement;
  /** Set on statements of a function body: the call that runs them (see functions.ts). */
  via?: Via;
}

/** How a statement of a function body came to run. */
export interface Via {
  /** The functions on the call path, the first one called first: ["backfill"], or ["outer", "inner"]. */
  functions: readonly string[];
  /** Their CREATE FUNCTION statements: a suppression above one covers what its body runs. */
  definitions: readonly Statement[];
  /** The line of the statement that made the first call. */
  line: number;
}

/** What a violation's message adds for a statement of a function body; "" for any other. */
export function viaNote(statement: Statement | undefined): string {
  const via = statement?.via;
  if (via === undefined) return "";
  // Innermost first: "inner, called by middle from outer".
  const [name, ...callers] = [...via.functions].reverse();
  const called = callers.length === 0 ? "" : `, called by ${callers.join(" from ")}`;
  return ` (in function ${name}${called}, run by the statement at line ${via.line})`;
}

export function makeStatement(
  file: string,
  index: number,
  node: Node,
  source: SourceText,
  start: number,
  end: number,
): Statement {
  const { line, column } = source.position(start);
  return {
    file,
    index,
    node,
    kind: kindOf(node),
    text: source.text.slice(start, end),
    start,
    end,
    line,
    column,
    endLine: source.position(end).line,
  };
}
