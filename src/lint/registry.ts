/**
 * Every rule, in the order docs/lint.md lists them: compat rules first, then lock rules.
 * A rule is added here and nowhere else; a test checks each has a docs page and a row in docs/lint.md.
 */
import type { Rule } from "./rule.js";
import { addCheckWithoutNotValid } from "./rules/add-check-without-not-valid.js";
import { addColumnNotNullNoDefault } from "./rules/add-column-not-null-no-default.js";
import { addConstraintOldWrites } from "./rules/add-constraint-old-writes.js";
import { addForeignKeyWithoutNotValid } from "./rules/add-foreign-key-without-not-valid.js";
import { addGeneratedStoredColumn } from "./rules/add-generated-stored-column.js";
import { addJsonColumn } from "./rules/add-json-column.js";
import { addSerialColumn } from "./rules/add-serial-column.js";
import { addUniqueWithoutIndex } from "./rules/add-unique-without-index.js";
import { attachPartitionWithoutCheck } from "./rules/attach-partition-without-check.js";
import { changeColumnType } from "./rules/change-column-type.js";
import { cluster } from "./rules/cluster.js";
import { concurrentlyInTransaction } from "./rules/concurrently-in-transaction.js";
import { createIndexNonConcurrent } from "./rules/create-index-non-concurrent.js";
import { detachPartitionNonConcurrent } from "./rules/detach-partition-non-concurrent.js";
import { domainConstraintWithoutNotValid } from "./rules/domain-constraint-without-not-valid.js";
import { dropColumn } from "./rules/drop-column.js";
import { dropDatabase } from "./rules/drop-database.js";
import { dropDefaultOfNotNull } from "./rules/drop-default-of-not-null.js";
import { dropFunction } from "./rules/drop-function.js";
import { dropIndexNonConcurrent } from "./rules/drop-index-non-concurrent.js";
import { dropNotNull } from "./rules/drop-not-null.js";
import { dropTable } from "./rules/drop-table.js";
import { dropView } from "./rules/drop-view.js";
import { enumAddValueInTransaction } from "./rules/enum-add-value-in-transaction.js";
import { excludeConstraint } from "./rules/exclude-constraint.js";
import { lockTable } from "./rules/lock-table.js";
import { reindexNonConcurrent } from "./rules/reindex-non-concurrent.js";
import { renameColumn } from "./rules/rename-column.js";
import { renameEnumValue } from "./rules/rename-enum-value.js";
import { renameSchema } from "./rules/rename-schema.js";
import { renameTable } from "./rules/rename-table.js";
import { requireLockTimeout } from "./rules/require-lock-timeout.js";
import { setLoggedUnlogged } from "./rules/set-logged-unlogged.js";
import { setNotNull } from "./rules/set-not-null.js";
import { setTablespace } from "./rules/set-tablespace.js";
import { statementsAfterExclusiveLock } from "./rules/statements-after-exclusive-lock.js";
import { truncate } from "./rules/truncate.js";
import { vacuumFull } from "./rules/vacuum-full.js";
import { validateInSameTransaction } from "./rules/validate-in-same-transaction.js";
import { volatileDefault } from "./rules/volatile-default.js";

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
  renameSchema,
  renameEnumValue,
  dropNotNull,
  dropDefaultOfNotNull,
  addConstraintOldWrites,
  dropFunction,
  dropView,
  addJsonColumn,
  // lock: blocks the running release with a lock or a rewrite
  createIndexNonConcurrent,
  concurrentlyInTransaction,
  addForeignKeyWithoutNotValid,
  addCheckWithoutNotValid,
  validateInSameTransaction,
  changeColumnType,
  requireLockTimeout,
  dropIndexNonConcurrent,
  reindexNonConcurrent,
  addUniqueWithoutIndex,
  excludeConstraint,
  volatileDefault,
  addSerialColumn,
  addGeneratedStoredColumn,
  setLoggedUnlogged,
  setTablespace,
  vacuumFull,
  cluster,
  detachPartitionNonConcurrent,
  attachPartitionWithoutCheck,
  statementsAfterExclusiveLock,
  lockTable,
  enumAddValueInTransaction,
  domainConstraintWithoutNotValid,
]);

const BY_ID = new Map(RULES.map((rule) => [rule.id, rule]));

export function ruleById(id: string): Rule | undefined {
  return BY_ID.get(id);
}
