/**
 * Comments that steer the linter:
 *   -- baton:allow <rule>[,<rule>...] <reason>       the statement after it (or the one it ends),
 *                                                    with what it runs (a DO block, a called function)
 *   -- baton:allow-file <rule>[,<rule>...] <reason>  the whole file
 *   -- baton:no-transaction                          the tool runs this file outside a transaction
 * A reason is required: a suppression is a decision someone must be able to read later.
 */
import type { Comment, ParsedFile } from "./parse.js";
import type { Violation } from "./rule.js";
import type { Statement } from "./statement.js";

export interface Suppression {
  rules: string[];
  reason: string;
  scope: "statement" | "file";
  comment: Comment;
  /** The top-level statement a "statement" suppression applies to. */
  target: Statement | undefined;
  /** Rules it suppressed at least once. */
  used: Set<string>;
}

export interface Directives {
  suppressions: Suppression[];
  noTransaction: boolean;
  /** Malformed directives: unknown rule, missing reason, unknown directive. */
  problems: Violation[];
}

const DIRECTIVE = /^(?:--+|\/\*+)\s*baton:([a-z-]+)(.*?)(?:\*+\/)?$/s;

export function readDirectives(parsed: ParsedFile, knownRules: ReadonlySet<string>): Directives {
  const directives: Directives = { suppressions: [], noTransaction: false, problems: [] };
  const topLevel = parsed.statements.filter((s) => s.parent === undefined);
  for (const comment of parsed.comments) {
    const match = DIRECTIVE.exec(comment.text.trim());
    if (match === null) continue;
    const [, name, rest = ""] = match;
    const problem = (message: string) => directives.problems.push(inputWarning(parsed, comment, message));
    if (name === "no-transaction") {
      directives.noTransaction = true;
      continue;
    }
    if (name !== "allow" && name !== "allow-file") {
      problem(`unknown directive "baton:${name}"; use baton:allow, baton:allow-file or baton:no-transaction`);
      continue;
    }
    const [ruleList = "", ...reasonWords] = rest.trim().split(/\s+/);
    const rules = ruleList.split(",").filter((r) => r !== "");
    const reason = reasonWords.join(" ").trim();
    const unknown = rules.filter((r) => !knownRules.has(r));
    if (rules.length === 0) problem(`baton:${name} needs a rule id and a reason`);
    else if (unknown.length > 0) problem(`baton:${name} names unknown rule ${unknown.map((r) => `"${r}"`).join(", ")}`);
    else if (reason === "") problem(`baton:${name} ${rules.join(",")} needs a reason after the rule id`);
    else {
      const scope = name === "allow" ? "statement" : "file";
      const target = scope === "statement" ? targetOf(comment, topLevel) : undefined;
      directives.suppressions.push({ rules, reason, scope, comment, target, used: new Set() });
    }
  }
  return directives;
}

/**
 * The statement a comment is about: the one it sits in, else the one that ends on its line
 * (a trailing comment), else the next one.
 */
function targetOf(comment: Comment, statements: readonly Statement[]): Statement | undefined {
  return (
    statements.find((s) => s.start <= comment.start && comment.start < s.end) ??
    statements.findLast((s) => s.end <= comment.start && s.endLine === comment.line) ??
    statements.find((s) => s.start >= comment.end)
  );
}

/**
 * Whether a violation of `rule` on `statement` is suppressed; marks the suppression used. A
 * statement that runs inside another (a DO block's, a called function's) is covered by a comment
 * above that top-level statement, and one of a function body also by a comment above the CREATE
 * FUNCTION of any function on the call path, when this file creates it.
 */
export function suppress(directives: Directives, rule: string, statement: Statement | undefined): boolean {
  const top = statement?.parent ?? statement;
  const targets = [
    ...(top === undefined ? [] : [top]),
    ...(statement?.via?.definitions ?? []).map((d) => d.parent ?? d),
  ];
  for (const s of directives.suppressions) {
    if (!s.rules.includes(rule)) continue;
    if (s.scope === "file" || (s.target !== undefined && targets.includes(s.target))) {
      s.used.add(rule);
      return true;
    }
  }
  return false;
}

/** A warning for every rule a suppression names that it never suppressed. */
export function unusedSuppressions(parsed: ParsedFile, directives: Directives): Violation[] {
  const out: Violation[] = [];
  for (const s of directives.suppressions) {
    const unused = s.rules.filter((r) => !s.used.has(r));
    if (unused.length === 0) continue;
    const where =
      s.scope === "file"
        ? "anywhere in this file"
        : s.target === undefined
          ? "(no statement follows it)"
          : `on the statement at line ${s.target.line}`;
    const message = `baton:${s.scope === "file" ? "allow-file" : "allow"} ${unused.join(",")} suppresses nothing: no ${unused.join(" or ")} violation ${where}`;
    out.push({ ...inputWarning(parsed, s.comment, message), rule: "unused-suppression" });
  }
  return out;
}

function inputWarning(parsed: ParsedFile, comment: Comment, message: string): Violation {
  return {
    rule: "invalid-suppression",
    group: "input",
    severity: "warning",
    file: parsed.file,
    line: comment.line,
    column: comment.column,
    message,
    safe: "Remove the comment, or write `-- baton:allow <rule-id> <reason>` naming a rule that fires here.",
    source: parsed.source.line(comment.line),
  };
}
