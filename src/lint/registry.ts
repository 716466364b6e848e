/**
 * Every rule, in the order docs/lint.md lists them: compat rules first, then lock rules.
 * A rule is added here and nowhere else; a test checks each has a docs page and a row in docs/lint.md.
 */
import type { Rule } from "./rule.js";
import { addCheckWithoutNotValid } from "./rules/add-check-without-not-valid.js";
import { addColumnNotNullNoDefault } from "./rules/add-column-not-null-no-default.js";
import { addForeignKeyWithoutNotValid } from "./rules/add-foreign-key-without-not-valid.js";
import { changeColumnType } from "./rules/change-column-type.js";
import { concurrentlyInTransaction } from "./rules/concurrently-in-transaction.js";
import { createIndexNonConcurrent } from "./rules/create-index-non-concurrent.js";
import { dropColumn } from "./rules/drop-column.js";
import { dropDatabase } from "./rules/drop-database.js";
import { dropTable } from "./rules/drop-table.js";
import { renameColumn } from "./rules/rename-column.js";
import { renameTable } from "./rules/rename-table.js";
import { requireLockTimeout } from "./rules/require-lock-timeout.js";
import { setNotNull } from "./rules/set-not-null.js";
import { truncate } from "./rules/truncate.js";
import { validateInSameTransaction } from "./rules/validate-in-same-transaction.js";

export const RULES: readonly Rule[] = Object.freeze([
  // compat: breaks the release that is still running
  dropColumn,
  dropTable,
  renameColumn,
  renameTable,
  addColumnNotNullNoDefault,
  setNotNull,
  truncate,
  dropDatabase,
  // lock: blocks the running release with a lock or a rewrite
  createIndexNonConcurrent,
  concurrentlyInTransaction,
  addForeignKeyWithoutNotValid,
  addCheckWithoutNotValid,
  validateInSameTransaction,
  changeColumnType,
  requireLockTimeout,
]);

const BY_ID = new Map(RULES.map((rule) => [rule.id, rule]));

export function ruleById(id: string): Rule | undefined {
  return BY_ID.get(id);
}
