/** Safe sequences more than one rule recommends, so every rule tells the same story. */

/** Where a "later transaction" step goes when each migration file runs in its own transaction. */
export const NEXT_MIGRATION = "-- in the next migration (a separate transaction):";

/** Adding NOT NULL to a column that already has rows, without a long ACCESS EXCLUSIVE scan. */
export function notNullSequence(table: string, column: string, pgVersion: number): string {
  const check = `${table.split(".").pop()}_${column}_not_null`;
  const lines = [
    `ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${column} IS NOT NULL) NOT VALID;`,
    NEXT_MIGRATION,
    `ALTER TABLE ${table} VALIDATE CONSTRAINT ${check};`,
  ];
  if (pgVersion >= 12) {
    lines.push(
      `ALTER TABLE ${table} ALTER COLUMN ${column} SET NOT NULL;  -- PostgreSQL 12+ trusts the valid CHECK: no scan`,
      `ALTER TABLE ${table} DROP CONSTRAINT ${check};`,
    );
  } else {
    lines.push("-- before PostgreSQL 12, SET NOT NULL always scans the table: keep the CHECK constraint instead");
  }
  return lines.join("\n");
}

/** The expand/contract pattern for removing something the running release still uses. */
export function contractLater(what: string, sql: string): string {
  return [
    `Expand/contract: first deploy a release that no longer uses ${what}; once it serves alone,`,
    "remove it in a later migration or in the app's postdeploy command (app.json), which baton runs",
    "after the old instances have stopped:",
    `  ${sql}`,
  ].join("\n");
}
