/**
 * Ranking by table size, when the live catalog is known: a rule whose harm grows with the table
 * (a rewrite, an index build or a validating scan under a lock) is an error on a big table and a
 * warning on a small one, where the lock lasts milliseconds. Rules whose harm does not depend on
 * size stay as they are: waiting for a lock queues every query behind it whatever the table's
 * size (require-lock-timeout), and breaking the running code is as bad on ten rows as on ten million.
 */
import { locksTaken } from "./locks.js";
import type { LintOptions } from "./options.js";
import type { Violation } from "./rule.js";
import type { Statement } from "./statement.js";

/** Rules whose lock lasts as long as a pass over the table (rewrite, scan, index build). */
export const SIZE_BOUND_RULES: ReadonlySet<string> = new Set([
  "create-index-non-concurrent",
  "reindex-non-concurrent",
  "add-foreign-key-without-not-valid",
  "add-check-without-not-valid",
  "add-unique-without-index",
  "attach-partition-without-check",
  "domain-constraint-without-not-valid",
  "change-column-type",
  "volatile-default",
  "add-serial-column",
  "add-generated-stored-column",
  "set-logged-unlogged",
  "set-tablespace",
  "vacuum-full",
  "cluster",
  "validate-in-same-transaction",
]);

/** The violation with its severity and message adjusted to the locked tables' estimated rows. */
export function rankBySize(violation: Violation, statement: Statement, options: Readonly<LintOptions>): Violation {
  const rows = options.tableRows;
  if (rows === undefined || violation.group !== "lock" || !SIZE_BOUND_RULES.has(violation.rule)) return violation;
  const sized = locksTaken(statement, options.pgVersion)
    .map((lock) => ({ table: lock.relation, rows: rows.get(lock.relation) }))
    .filter((t): t is { table: string; rows: number } => t.rows !== undefined && t.rows >= 0);
  if (sized.length === 0) return violation; // unknown size (never analysed, or a table made here): keep the rule's word
  const biggest = sized.reduce((a, b) => (b.rows > a.rows ? b : a));
  const estimate = `${biggest.table} has about ${biggest.rows.toLocaleString("en-US")} rows (live catalog estimate)`;
  if (biggest.rows < options.smallTableRows && violation.severity === "error") {
    return {
      ...violation,
      severity: "warning",
      message: `${violation.message}; ${estimate}, so the lock lasts moments: a warning, not an error`,
      rows: biggest.rows,
    };
  }
  return { ...violation, message: `${violation.message}; ${estimate}`, rows: biggest.rows };
}
