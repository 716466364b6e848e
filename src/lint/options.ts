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
}

export const DEFAULT_OPTIONS: Readonly<LintOptions> = Object.freeze({
  pgVersion: 16,
  transaction: true,
  lockTimeout: false,
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
  return Object.freeze(resolved);
}
