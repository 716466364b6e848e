import { names, nodeAs, qualifiedName } from "../ast.js";
import type { Rule } from "../rule.js";

export const renameEnumValue: Rule = {
  id: "rename-enum-value",
  group: "compat",
  severity: "error",
  summary: "ALTER TYPE ... RENAME VALUE breaks the running release, which still writes and compares the old value",
  check(statement, context) {
    const alter = nodeAs(statement.node, "AlterEnumStmt");
    if (alter?.oldVal === undefined) return []; // ADD VALUE: nothing the old code uses changes
    const type = qualifiedName(names(alter.typeName));
    const createdHere = context.history.some((s) => {
      const create = nodeAs(s.node, "CreateEnumStmt");
      return s.file === context.file && create !== undefined && qualifiedName(names(create.typeName)) === type;
    });
    if (createdHere) return [];
    const [from, to] = [alter.oldVal, alter.newVal ?? "?"];
    return [
      {
        message: `renaming value '${from}' of enum ${type} to '${to}' breaks the running release: its writes of '${from}' and its queries comparing with it fail with invalid input value for enum ${type}: "${from}", and it reads '${to}', which it does not know`,
        safe: [
          `Expand/contract: add '${to}' next to '${from}', move the code and the rows, leave '${from}' unused:`,
          `  ALTER TYPE ${type} ADD VALUE IF NOT EXISTS '${to}';  -- before PostgreSQL 12, outside a transaction`,
          `  -- deploy a release that reads both values and writes only '${to}'; once it serves alone`,
          "  -- (postdeploy, or a later release's migration), backfill in batches:",
          `  UPDATE <table> SET <column> = '${to}' WHERE <column> = '${from}' AND id BETWEEN 1 AND 10000;`,
          `PostgreSQL cannot drop an enum value: '${from}' stays in the type, unused (or add a CHECK refusing it).`,
        ].join("\n"),
      },
    ];
  },
};
