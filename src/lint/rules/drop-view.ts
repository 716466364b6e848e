import { names, nodeAs, nodesAs, qualifiedName, relationName } from "../ast.js";
import { describeLock } from "../locks.js";
import type { Finding, Rule } from "../rule.js";
import { contractLater } from "../safe-sql.js";
import type { Statement } from "../statement.js";

const VIEWS: Record<string, string> = { OBJECT_VIEW: "view", OBJECT_MATVIEW: "materialized view" };

// Renaming a view is rename-table's (ALTER VIEW ... RENAME TO arrives as a table rename too).
export const dropView: Rule = {
  id: "drop-view",
  group: "compat",
  severity: "error",
  summary: "DROP or SET SCHEMA of a view or materialized view the running release may still read",
  check(statement, context) {
    const drop = nodeAs(statement.node, "DropStmt");
    const move = nodeAs(statement.node, "AlterObjectSchemaStmt");
    let kind: string | undefined;
    let views: string[];
    let change: (view: string) => string;
    let cascade = "";
    if (drop !== undefined) {
      kind = VIEWS[drop.removeType ?? ""];
      views = nodesAs(drop.objects, "List").map((o) => qualifiedName(names(o.items)));
      if (drop.behavior === "DROP_CASCADE") cascade = "; CASCADE also drops the views built on it";
      change = (view) => `dropping ${kind} ${view}`;
    } else if (move !== undefined) {
      kind = VIEWS[move.objectType ?? ""];
      views = move.relation === undefined ? [] : [relationName(move.relation)];
      change = (view) => `moving ${kind} ${view} to schema ${move.newschema ?? "?"}`;
    } else return [];
    if (kind === undefined) return [];
    const findings: Finding[] = [];
    for (const view of views) {
      if (context.isNewTable(view) || createdInFile(context.history, context.file, view)) continue;
      const lock = context.locks(statement).find((l) => l.relation === view);
      findings.push({
        message: `${change(view)} breaks the running release if it still reads it: its queries fail with relation "${view}" does not exist${cascade}`,
        lock: `${lock === undefined ? `ACCESS EXCLUSIVE on ${view}` : describeLock(lock)}, briefly`,
        safe: [
          "To change its columns: CREATE OR REPLACE VIEW may add columns at the end without a gap; to remove,",
          `rename or retype columns, create the new shape under a new name (${view}_v2) and deploy the release`,
          "that reads it. Dropping and re-creating it in one transaction leaves no gap, but the running release",
          "then reads the new columns: suppress it with a reason if they stay compatible.",
          contractLater(`${kind} ${view}`, `DROP ${kind.toUpperCase()} ${view};`),
        ].join("\n"),
      });
    }
    return findings;
  },
};

/** A plain CREATE VIEW (not OR REPLACE) earlier in the file: nothing running reads it yet. */
function createdInFile(history: readonly Statement[], file: string, view: string): boolean {
  return history.some((s) => {
    const create = nodeAs(s.node, "ViewStmt");
    return s.file === file && create !== undefined && create.replace !== true && relationName(create.view) === view;
  });
}
