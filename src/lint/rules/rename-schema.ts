import { nodeAs } from "../ast.js";
import type { Rule } from "../rule.js";

export const renameSchema: Rule = {
  id: "rename-schema",
  group: "compat",
  severity: "error",
  summary: "ALTER SCHEMA ... RENAME TO breaks the running release, which still names the old schema",
  check(statement, context) {
    const rename = nodeAs(statement.node, "RenameStmt");
    if (rename?.renameType !== "OBJECT_SCHEMA") return [];
    const [from, to] = [rename.subname ?? "?", rename.newname ?? "?"];
    // CREATE SCHEMA IF NOT EXISTS may have found it there already: only a plain CREATE proves it new.
    const createdHere = context.history.some((s) => {
      const create = nodeAs(s.node, "CreateSchemaStmt");
      return s.file === context.file && create?.schemaname === from && create.if_not_exists !== true;
    });
    if (createdHere) return [];
    return [
      {
        message: `renaming schema ${from} to ${to} breaks the running release: every query naming ${from}.<table>, every call of ${from}.<function>() and every search_path that lists ${from} stops resolving`,
        safe: [
          `Rename it and, in the same transaction, leave schema ${from} behind with a view for each table`,
          "(a simple view is updatable, so the running release keeps reading and writing through it):",
          `  ALTER SCHEMA ${from} RENAME TO ${to};`,
          `  CREATE SCHEMA ${from};`,
          `  CREATE VIEW ${from}.<table> AS SELECT * FROM ${to}.<table>;  -- one per table the old code uses`,
          `Deploy the release that uses ${to}; once it serves alone (postdeploy):`,
          `  DROP VIEW ${from}.<table>;  -- each of them`,
          `  DROP SCHEMA ${from};`,
        ].join("\n"),
      },
    ];
  },
};
