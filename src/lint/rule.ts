/**
 * The contract between the linter and its rules. A rule looks at one statement at a time, with a
 * Context that says what ran before it, and returns Findings; the runner turns each Finding into
 * a Violation with the rule's id, the file, line and column, and applies suppressions.
 *
 * Writing a rule (see src/lint/rules/drop-column.ts for a short one):
 *  1. src/lint/rules/<id>.ts exports a `Rule`; add it to RULES in src/lint/registry.ts.
 *  2. Narrow the statement with nodeAs/alterCommands (src/lint/ast.ts); return [] when it is not
 *     yours. Skip tables the file created itself: `context.isNewTable(name)`.
 *  3. Say which lock the statement takes (describeLock(...) from locks.ts) and give the safe
 *     alternative, with SQL, in `safe`.
 *  4. test/lint-<id>.test.ts: SQL that must be flagged and the safe form that must pass
 *     (helpers in src/lint/testing.ts); docs/rules/<id>.md; a row in docs/lint.md.
 */
import type { Context } from "./context.js";
import type { Statement } from "./statement.js";

/** "compat": breaks the release that is still running. "lock": blocks it with a lock or rewrite. */
export type RuleGroup = "compat" | "lock";

/** An error blocks a deploy; a warning is shown (it depends on what the old code does). */
export type Severity = "error" | "warning";

export interface Finding {
  /** What is wrong and why it hurts, naming the table and column. */
  message: string;
  /** The lock the statement takes and for how long, e.g. "ACCESS EXCLUSIVE on users while every row is rewritten". */
  lock?: string;
  /** The safe alternative: what to run instead, usually a SQL sequence (may span lines). */
  safe: string;
  /** Overrides the rule's severity for this finding. */
  severity?: Severity;
}

export interface Rule {
  /** kebab-case, stable: used in suppressions, output and docs/rules/<id>.md. */
  id: string;
  group: RuleGroup;
  severity: Severity;
  /** One line for docs/lint.md and `baton lint --help`. */
  summary: string;
  /** Findings for one statement; [] when it is fine. Must not keep state between calls. */
  check(statement: Statement, context: Context): Finding[];
}

/**
 * Rule ids of problems with the input itself rather than a statement: "syntax-error",
 * "unused-suppression", "invalid-suppression". They belong to the group "input".
 */
export type ViolationGroup = RuleGroup | "input";

export interface Violation {
  rule: string;
  group: ViolationGroup;
  severity: Severity;
  file: string;
  /** 1-based; column counted in characters. */
  line: number;
  column: number;
  message: string;
  lock?: string;
  safe: string;
  /** The source line at `line`, for display. */
  source: string;
  /** The locked table's estimated rows, when the live catalog ranked this violation by size. */
  rows?: number;
}
