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
  /** Set on statements found inside a DO block: the DO statement that runs them. */
  parent?: Statement;
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
