/** What the linter assumes about how the migrations run. */
import { BatonError } from "../core/errors.js";

export interface LintOptions {
  /** PostgreSQL major version the migrations run against. Default 16. */
  pgVersion: number;
  /**
   * Each file runs inside one transaction, as node-pg-migrate, Rails, Django, Flyway and most
   * migration tools run it (squawk's assume-in-transaction). Default true. A file that its tool
   * runs outside a transaction says so with a `-- baton:no-transaction` comment.
   */
  transaction: boolean;
  /** The session already has a lock_timeout (baton's release phase sets one). Default false. */
  lockTimeout: boolean;
  /**
   * Estimated rows per table from the live catalog ("users", "audit.users"), when a database was
   * read; rules whose lock lasts a pass over the table rank by it (src/lint/size.ts).
   */
  tableRows?: ReadonlyMap<string, number>;
  /** Below this many estimated rows such a lock is brief: an error becomes a warning. Default 10,000. */
  smallTableRows: number;
}

export const DEFAULT_OPTIONS: Readonly<LintOptions> = Object.freeze({
  pgVersion: 16,
  transaction: true,
  lockTimeout: false,
  smallTableRows: 10_000,
});

/** Fills in defaults and checks the values once; the result is frozen. */
export function resolveOptions(options: Partial<LintOptions> = {}): Readonly<LintOptions> {
  const resolved = { ...DEFAULT_OPTIONS, ...options };
  if (!Number.isInteger(resolved.pgVersion) || resolved.pgVersion < 9 || resolved.pgVersion > 99) {
    throw new BatonError(
      "BATON_USAGE",
      `pgVersion must be a PostgreSQL major version such as 16 (got ${resolved.pgVersion})`,
    );
  }
  if (!Number.isInteger(resolved.smallTableRows) || resolved.smallTableRows < 0) {
    throw new BatonError(
      "BATON_USAGE",
      `smallTableRows must be a whole number of rows (got ${resolved.smallTableRows})`,
    );
  }
  return Object.freeze(resolved);
}
