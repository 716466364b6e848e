import { nodeAs, relationName } from "../ast.js";
import type { Rule } from "../rule.js";

// A RENAME of a table arrives with renameType OBJECT_TABLE (relationType is unset there).
const RENAMED = new Set(["OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"]);

export const renameTable: Rule = {
  id: "rename-table",
  group: "compat",
  severity: "error",
  summary: "RENAME of a table or view breaks the running release, which still uses the old name",
  check(statement, context) {
    const rename = nodeAs(statement.node, "RenameStmt");
    if (rename === undefined || !RENAMED.has(rename.renameType ?? "")) return [];
    const table = relationName(rename.relation);
    if (context.isNewTable(table)) return [];
    const to = rename.newname ?? "?";
    return [
      {
        message: `renaming ${table} to ${to} breaks the running release: its queries still name ${table}`,
        lock: `ACCESS EXCLUSIVE on ${table}, briefly`,
        safe: [
          "Rename and leave a view under the old name in the same transaction; a simple view is",
          "updatable, so the running release keeps reading and writing through it:",
          `  ALTER TABLE ${table} RENAME TO ${to};`,
          `  CREATE VIEW ${table} AS SELECT * FROM ${to};`,
          "Once the release that uses the new name serves alone (postdeploy):",
          `  DROP VIEW ${table};`,
        ].join("\n"),
      },
    ];
  },
};
