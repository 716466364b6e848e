/**
 * Lints SQL: parses each source, walks its statements with a Context, runs every rule, applies
 * the file's suppressions and reports what is left, sorted by file, line and column.
 */
import { FileWalk } from "./context.js";
import { FunctionRegistry } from "./functions.js";
import { type LintOptions, resolveOptions } from "./options.js";
import { loadParser, type ParsedFile, parseSqlLoaded } from "./parse.js";
import { RULES } from "./registry.js";
import type { Rule, Violation } from "./rule.js";
import { rankBySize } from "./size.js";
import { type Statement, viaNote } from "./statement.js";
import { readDirectives, suppress, unusedSuppressions } from "./suppressions.js";

export interface SqlSource {
  /** Shown in violations; a path for files. */
  file: string;
  sql: string;
  /**
   * Already applied to the database: read only for what it defines (a CHECK constraint that a
   * later SET NOT NULL relies on, a column's type), never reported.
   */
  applied?: boolean;
}

export interface RunOptions extends Partial<LintOptions> {
  /** The rules to run; default every rule in the registry. */
  rules?: readonly Rule[];
}

/** Rule ids that are not rules but can appear in violations (and in suppressions, for syntax-error). */
export const INPUT_RULE_IDS = ["syntax-error", "unused-suppression", "invalid-suppression"] as const;

export async function lintSql(sql: string, file = "<stdin>", options: RunOptions = {}): Promise<Violation[]> {
  return lintSources([{ file, sql }], options);
}

/** Lints sources in order: a file sees what earlier files defined (Context.history). */
export async function lintSources(sources: readonly SqlSource[], options: RunOptions = {}): Promise<Violation[]> {
  const { rules = RULES, ...rest } = options;
  const resolved = resolveOptions(rest);
  await loadParser();
  const known = new Set<string>([...RULES.map((r) => r.id), ...rules.map((r) => r.id), "syntax-error"]);
  const history: Statement[] = [];
  // A file may call a function an earlier one created, applied or not.
  const functions = new FunctionRegistry();
  const violations: Violation[] = [];
  for (const source of sources) {
    const parsed = parseSqlLoaded(source.sql, source.file, functions);
    const directives = readDirectives(parsed, known);
    const walk = new FileWalk(
      source.file,
      { ...resolved, transaction: resolved.transaction && !directives.noTransaction },
      history,
    );
    // Each violation keeps its statement, so that suppressions find the comment above it.
    const found: { violation: Violation; statement: Statement | undefined }[] = [];
    if (parsed.syntaxError !== undefined) found.push({ violation: syntaxViolation(parsed), statement: undefined });
    for (const statement of parsed.statements) {
      const context = walk.context(statement);
      // Applied files are walked for their history only.
      for (const rule of source.applied ? [] : rules) {
        for (const finding of rule.check(statement, context)) {
          const violation: Violation = {
            rule: rule.id,
            group: rule.group,
            severity: finding.severity ?? rule.severity,
            file: source.file,
            line: statement.line,
            column: statement.column,
            message: finding.message + viaNote(statement),
            ...(finding.lock === undefined ? {} : { lock: finding.lock }),
            safe: finding.safe,
            source: parsed.source.line(statement.line),
          };
          found.push({ violation: rankBySize(violation, statement, resolved), statement });
        }
      }
      walk.advance(statement);
    }
    if (source.applied) continue;
    const kept = found.filter(({ violation, statement }) => !suppress(directives, violation.rule, statement));
    const fileViolations = [
      ...kept.map((k) => k.violation),
      ...directives.problems,
      ...unusedSuppressions(parsed, directives),
    ];
    violations.push(...fileViolations.sort(byPosition));
  }
  // Files stay in the order given (migration order); within a file, by position.
  return violations;
}

function syntaxViolation(parsed: ParsedFile): Violation {
  const error = parsed.syntaxError as NonNullable<ParsedFile["syntaxError"]>;
  return {
    rule: "syntax-error",
    group: "input",
    severity: "error",
    file: parsed.file,
    line: error.line,
    column: error.column,
    message: `${error.message}; PostgreSQL would run none of this file, and nothing else in it was checked`,
    safe: "Fix the SQL so PostgreSQL accepts it (psql meta-commands such as \\set are not SQL).",
    source: parsed.source.line(error.line),
  };
}

function byPosition(a: Violation, b: Violation): number {
  return a.line - b.line || a.column - b.column || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0);
}
