import { nodeAs, relationName } from "../ast.js";
import type { Rule } from "../rule.js";

const RELATIONS = new Set(["OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"]);

export const renameColumn: Rule = {
  id: "rename-column",
  group: "compat",
  severity: "error",
  summary: "RENAME COLUMN breaks the running release, which still uses the old name",
  check(statement, context) {
    const rename = nodeAs(statement.node, "RenameStmt");
    if (rename?.renameType !== "OBJECT_COLUMN" || !RELATIONS.has(rename.relationType ?? "")) return [];
    const table = relationName(rename.relation);
    if (context.isNewTable(table)) return [];
    const [from, to] = [rename.subname ?? "?", rename.newname ?? "?"];
    return [
      {
        message: `renaming column ${from} of ${table} to ${to} breaks the running release: its queries still name ${from}`,
        lock: `ACCESS EXCLUSIVE on ${table}, briefly`,
        safe: [
          `Expand/contract: add ${to}, keep both in step, move the code, then drop ${from}:`,
          `  ALTER TABLE ${table} ADD COLUMN ${to} <type of ${from}>;`,
          `  -- the code writes both columns (or a trigger copies ${from} to ${to}); backfill in batches:`,
          `  UPDATE ${table} SET ${to} = ${from} WHERE ${to} IS NULL AND id BETWEEN 1 AND 10000;`,
          "  -- deploy the release that reads and writes only the new column; then, in postdeploy:",
          `  ALTER TABLE ${table} DROP COLUMN ${from};`,
        ].join("\n"),
      },
    ];
  },
};
