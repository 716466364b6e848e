import { names, nodeAs, qualifiedName } from "../ast.js";
import type { Rule } from "../rule.js";
import { NEXT_MIGRATION } from "../safe-sql.js";

/**
 * ALTER DOMAIN ... ADD CONSTRAINT (or SET NOT NULL) checks every value of the domain in every table
 * that has a column of it, holding a lock on each of those tables that blocks their writes for the
 * whole scan. squawk's ban-alter-domain-with-add-constraint catches the same; the way out is the
 * one for tables: NOT VALID first, VALIDATE later (SET NOT NULL has no such form).
 */
export const domainConstraintWithoutNotValid: Rule = {
  id: "domain-constraint-without-not-valid",
  group: "lock",
  severity: "error",
  summary: "a domain constraint added without NOT VALID scans every table using the domain while their writes wait",
  check(statement) {
    const alter = nodeAs(statement.node, "AlterDomainStmt");
    if (alter === undefined) return [];
    const domain = qualifiedName(names(alter.typeName));
    const constraint = nodeAs(alter.def, "Constraint");
    const lock = `SHARE on every table with a column of type ${domain}, for the whole scan: their writes wait`;
    if (alter.subtype === "C" && constraint?.contype === "CONSTR_CHECK" && constraint.skip_validation !== true) {
      const name = constraint.conname ?? `${domain}_check`;
      return [
        {
          message: `adding CHECK constraint ${name} to domain ${domain} checks every stored value of it, in every table that uses it, before it commits`,
          lock,
          safe: [
            "Add it NOT VALID (new values are checked at once), then validate it in a later transaction,",
            "which does not block writes:",
            `  ALTER DOMAIN ${domain} ADD CONSTRAINT ${name} CHECK (<condition>) NOT VALID;`,
            `  ${NEXT_MIGRATION}`,
            `  ALTER DOMAIN ${domain} VALIDATE CONSTRAINT ${name};`,
          ].join("\n"),
        },
      ];
    }
    if (alter.subtype === "O") {
      return [
        {
          message: `SET NOT NULL on domain ${domain} checks every stored value of it, in every table that uses it`,
          lock,
          safe: [
            "Domains have no NOT VALID form of NOT NULL: add a CHECK instead, in two steps:",
            `  ALTER DOMAIN ${domain} ADD CONSTRAINT ${domain}_not_null CHECK (VALUE IS NOT NULL) NOT VALID;`,
            `  ${NEXT_MIGRATION}`,
            `  ALTER DOMAIN ${domain} VALIDATE CONSTRAINT ${domain}_not_null;`,
          ].join("\n"),
        },
      ];
    }
    return [];
  },
};
