/** The migration linter as a library: `lintFiles(["migrations"])` or `lintSql(text)`. */
import { readFile } from "node:fs/promises";
import { findSqlFiles } from "./files.js";
import type { Violation } from "./rule.js";
import { lintSources, type RunOptions } from "./runner.js";

export { type Catalog, readCatalog } from "./catalog.js";
export type { Context, Transaction } from "./context.js";
export { findSqlFiles } from "./files.js";
export { describeLock, type Lock, type LockMode, locksTaken } from "./locks.js";
export { DEFAULT_OPTIONS, type LintOptions } from "./options.js";
export { type ParsedFile, parseSql } from "./parse.js";
export { RULES, ruleById } from "./registry.js";
export type { Finding, Rule, RuleGroup, Severity, Violation, ViolationGroup } from "./rule.js";
export { INPUT_RULE_IDS, lintSources, lintSql, type RunOptions, type SqlSource } from "./runner.js";
export { rankBySize, SIZE_BOUND_RULES } from "./size.js";
export type { Statement } from "./statement.js";

/** Lints the .sql files named or found under the paths (directories recursively, sorted). */
export async function lintFiles(paths: readonly string[], options: RunOptions = {}): Promise<Violation[]> {
  const files = await findSqlFiles(paths);
  const sources = await Promise.all(files.map(async (file) => ({ file, sql: await readFile(file, "utf8") })));
  return lintSources(sources, options);
}

/** True when any violation is an error: the migration must not run as it is. */
export function hasErrors(violations: readonly Violation[]): boolean {
  return violations.some((v) => v.severity === "error");
}
