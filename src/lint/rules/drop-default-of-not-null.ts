import type { AlterTableCmd } from "libpg-query";
import { alterCommands, nodeAs, relationName } from "../ast.js";
import type { Finding, Rule } from "../rule.js";
import { columnDefNotNull, columnNullability, notNullCheck } from "../schema.js";
import type { Statement } from "../statement.js";

/** A command that leaves a column without a default. */
interface Removal {
  /** "dropping the default of" */
  what: string;
  /** The command, for the safe sequence: "DROP DEFAULT". */
  sql: string;
  /** Why the column is NOT NULL regardless of history, when it is. */
  alwaysNotNull?: string;
}

export const dropDefaultOfNotNull: Rule = {
  id: "drop-default-of-not-null",
  group: "compat",
  severity: "error",
  summary: "DROP DEFAULT (or DROP IDENTITY) on a NOT NULL column: the running release's INSERTs that omit it fail",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    // Earlier commands of this same statement count: ALTER c DROP NOT NULL, ALTER c DROP DEFAULT.
    const inStatement = new Map<string, boolean>();
    const findings: Finding[] = [];
    for (const [i, command] of commands.entries()) {
      const column = command.name ?? "?";
      if (command.subtype === "AT_SetNotNull") inStatement.set(column, true);
      if (command.subtype === "AT_DropNotNull") inStatement.set(column, false);
      const added = nodeAs(command.def, "ColumnDef");
      if (command.subtype === "AT_AddColumn" && added?.colname !== undefined)
        inStatement.set(added.colname, columnDefNotNull(added));
      const removal = removedDefault(command);
      if (removal === undefined) continue;
      // DROP IDENTITY, SET DEFAULT nextval('...') in one statement: no INSERT runs in between.
      if (commands.slice(i + 1).some((later) => later.name === column && setsDefault(later))) continue;
      let why: string | undefined;
      if (removal.alwaysNotNull !== undefined) why = removal.alwaysNotNull;
      else if (inStatement.has(column)) {
        if (inStatement.get(column) === false) continue;
        why = "declared earlier in this statement";
      } else {
        const proof = notNullProof(context.history, table, column);
        if (proof === false) continue; // known nullable: old INSERTs get NULL, which is allowed
        why = proof === undefined ? undefined : `${proof.how}, ${where(proof.statement, statement)}`;
      }
      const breaks = `every INSERT of the running release that leaves ${column} out fails with a not-null violation`;
      findings.push({
        message:
          why === undefined
            ? `${removal.what} ${table}.${column}: if ${column} is NOT NULL (the migrations linted here do not say), ${breaks}`
            : `${removal.what} ${table}.${column}, which is NOT NULL (${why}): ${breaks}`,
        lock: `ACCESS EXCLUSIVE on ${table}, briefly: only the catalog changes`,
        safe: [
          `Expand/contract: keep the default while a release that leaves ${column} out still runs. First deploy`,
          `a release whose INSERTs always set ${column}; once it serves alone, remove the default in a later`,
          "migration or in the app's postdeploy command (app.json), which baton runs after the old instances stop:",
          `  ALTER TABLE ${table} ALTER COLUMN ${column} ${removal.sql};`,
          "If the column should be optional instead, drop NOT NULL first (see drop-not-null).",
        ].join("\n"),
        ...(why === undefined ? { severity: "warning" as const } : {}),
      });
    }
    return findings;
  },
};

function removedDefault(command: AlterTableCmd): Removal | undefined {
  if (command.subtype === "AT_DropIdentity")
    return {
      what: "dropping the identity (the generated default) of",
      sql: "DROP IDENTITY",
      alwaysNotNull: "an identity column always is",
    };
  if (command.subtype !== "AT_ColumnDefault") return undefined;
  if (command.def === undefined) return { what: "dropping the default of", sql: "DROP DEFAULT" };
  if (nodeAs(command.def, "A_Const")?.isnull === true)
    return { what: "setting the default to NULL on", sql: "SET DEFAULT NULL" };
  return undefined; // SET DEFAULT <value>: old INSERTs get the new value, NOT NULL holds
}

function setsDefault(command: AlterTableCmd): boolean {
  return command.subtype === "AT_ColumnDefault" && command.def !== undefined && removedDefault(command) === undefined;
}

/**
 * What earlier statements say: NOT NULL as declared, or a CHECK (column IS NOT NULL), which new
 * rows must pass even while NOT VALID. false when the column is known to be nullable.
 */
function notNullProof(
  history: readonly Statement[],
  table: string,
  column: string,
): { how: string; statement: Statement } | false | undefined {
  const declared = columnNullability(history, table, column);
  if (declared?.notNull) return { how: "declared", statement: declared.statement };
  const check = notNullCheck(history, table, column);
  if (check !== undefined)
    return { how: `CHECK ${check.name ?? `(${column} IS NOT NULL)`} enforces it`, statement: check.statement };
  return declared === undefined ? undefined : false;
}

function where(found: Statement, here: Statement): string {
  return found.file === here.file ? `line ${found.line}` : `${found.file} line ${found.line}`;
}
