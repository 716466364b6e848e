/**
 * Helpers for rule tests (test/lint-<id>.test.ts): run one rule over SQL and look at what it
 * reports. They live here, not under test/, so every rule's test file can import them.
 */
import { ruleById } from "./registry.js";
import type { Violation } from "./rule.js";
import { lintSources, type RunOptions, type SqlSource } from "./runner.js";

/** Violations of one rule (plus syntax errors, which would hide everything else) for the SQL. */
export async function violationsOf(
  ruleId: string,
  sql: string,
  options: Omit<RunOptions, "rules"> = {},
): Promise<Violation[]> {
  return violationsIn(ruleId, [{ file: "test.sql", sql }], options);
}

/** The same for several files, linted in order (earlier ones may be `applied`). */
export async function violationsIn(
  ruleId: string,
  sources: readonly SqlSource[],
  options: Omit<RunOptions, "rules"> = {},
): Promise<Violation[]> {
  const rule = ruleById(ruleId);
  if (rule === undefined) throw new Error(`no rule "${ruleId}" in the registry`);
  const all = await lintSources(sources, { ...options, rules: [rule] });
  return all.filter((v) => v.rule === ruleId || v.rule === "syntax-error");
}

/** "line:rule" for each violation: short to assert on. */
export function summarize(violations: readonly Violation[]): string[] {
  return violations.map((v) => `${v.line}:${v.rule}`);
}
