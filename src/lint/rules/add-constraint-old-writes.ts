import type { Constraint, IndexElem } from "libpg-query";
import {
  alterCommands,
  defaultConstraintName,
  names,
  nodeAs,
  nodesAs,
  qualifiedName,
  referencedColumns,
  relationName,
} from "../ast.js";
import { describeLock } from "../locks.js";
import type { Finding, Rule } from "../rule.js";
import { NEXT_MIGRATION } from "../safe-sql.js";

const ALLOW = "-- baton:allow add-constraint-old-writes <why the running release's writes comply>";

export const addConstraintOldWrites: Rule = {
  id: "add-constraint-old-writes",
  group: "compat",
  severity: "warning",
  summary:
    "a CHECK, FOREIGN KEY, UNIQUE, PRIMARY KEY or EXCLUDE constraint (even NOT VALID) checks the running release's writes",
  check(statement, context) {
    const index = nodeAs(statement.node, "IndexStmt");
    if (index !== undefined) {
      const table = relationName(index.relation);
      if (!index.unique || context.isNewTable(table)) return [];
      const elements = nodesAs(index.indexParams, "IndexElem");
      const columns = elements.map((e) => e.name ?? "<expression>");
      // PostgreSQL names an unnamed expression index after the expression's function or "expr".
      const name = index.idxname ?? defaultConstraintName(table, elements.map(indexColumnName), "idx");
      const lock = context.locks(statement).find((l) => l.relation === table);
      return [
        {
          message: `unique index ${name} on ${table} (${columns.join(", ")}) enforces uniqueness from the moment it exists${index.whereClause === undefined ? "" : " (on the rows its WHERE selects)"}: an INSERT or UPDATE of the running release that repeats a value fails with a unique violation`,
          ...(lock === undefined ? {} : { lock: `${describeLock(lock)} while the index builds` }),
          safe: [
            "The running release's writes are checked as soon as the index exists. Before building it, deploy a",
            "release that cannot write duplicates and remove the duplicates already there; then build it:",
            `  CREATE UNIQUE INDEX CONCURRENTLY ${name} ON ${table} (${columns.join(", ")});`,
            `If the running release already never writes duplicates, say so: ${ALLOW}`,
          ].join("\n"),
        },
      ];
    }

    const domain = nodeAs(statement.node, "AlterDomainStmt");
    if (domain !== undefined) {
      const constraint = nodeAs(domain.def, "Constraint");
      if (domain.subtype !== "C" || constraint === undefined) return [];
      const name = qualifiedName(names(domain.typeName));
      const createdHere = context.history.some((s) => {
        const create = nodeAs(s.node, "CreateDomainStmt");
        return s.file === context.file && create !== undefined && qualifiedName(names(create.domainname)) === name;
      });
      if (createdHere) return [];
      return [
        {
          message: `adding constraint ${constraint.conname ?? `${name}_check`} to domain ${name}: from now on every INSERT and UPDATE of the running release into a column of type ${name} is checked${constraint.skip_validation ? " (NOT VALID only skips the existing values)" : ""}, and a value that breaks it fails`,
          safe: safeSequence(
            NOT_VALID_THEN_VALIDATE,
            `ALTER DOMAIN ${name} ADD CONSTRAINT <name> CHECK (<condition>) NOT VALID;`,
            `ALTER DOMAIN ${name} VALIDATE CONSTRAINT <name>;`,
          ),
        },
      ];
    }

    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    const findings: Finding[] = [];
    for (const command of commands) {
      const constraint = nodeAs(command.def, "Constraint");
      // Constraints written on an ADD COLUMN apply to a column the running release does not write:
      // it gets NULL or the default, which the ADD already checked against every existing row.
      if (command.subtype !== "AT_AddConstraint" || constraint === undefined) continue;
      // USING INDEX: the unique index already enforced it (flagged at its CREATE UNIQUE INDEX).
      if (constraint.indexname !== undefined) continue;
      const found = describe(table, constraint);
      if (found === undefined) continue;
      const lock = context.locks(statement).find((l) => l.relation === table);
      const notValid = constraint.skip_validation === true;
      findings.push({
        message: `${found.adding}${notValid ? " NOT VALID (which skips only the rows already there)" : ""}: from now on ${found.checks}`,
        ...(lock === undefined
          ? {}
          : {
              lock: `${describeLock(lock)}${found.validateSql === undefined ? " while its index builds" : notValid ? ", briefly: existing rows are not checked" : " while every existing row is checked"}`,
            }),
        safe: safeSequence(found.how, found.addSql, found.validateSql),
      });
    }
    return findings;
  },
};

interface Described {
  /** "adding CHECK constraint c to users" */
  adding: string;
  /** What the running release's writes now go through. */
  checks: string;
  /** How to add it with a short lock, introducing addSql. */
  how: string;
  addSql: string;
  validateSql: string | undefined;
}

const NOT_VALID_THEN_VALIDATE = "(NOT VALID, then VALIDATE in a later transaction, keeps the lock short):";

function describe(table: string, constraint: Constraint): Described | undefined {
  const writes = "every INSERT and UPDATE of the running release";
  switch (constraint.contype) {
    case "CONSTR_CHECK": {
      const columns = referencedColumns(constraint.raw_expr);
      const name = constraint.conname ?? defaultConstraintName(table, columns.length === 1 ? columns : [], "check");
      return {
        adding: `adding CHECK constraint ${name} to ${table}`,
        checks: `${writes} on ${table} is checked against it${columns.length > 0 ? ` (it reads ${columns.join(", ")})` : ""}, and one that breaks it fails`,
        how: NOT_VALID_THEN_VALIDATE,
        addSql: `ALTER TABLE ${table} ADD CONSTRAINT ${name} CHECK (<condition>) NOT VALID;`,
        validateSql: `ALTER TABLE ${table} VALIDATE CONSTRAINT ${name};`,
      };
    }
    case "CONSTR_FOREIGN": {
      const columns = names(constraint.fk_attrs);
      const name = constraint.conname ?? defaultConstraintName(table, columns, "fkey");
      const target = relationName(constraint.pktable);
      // fk_del_action: a (NO ACTION), r (RESTRICT), c (CASCADE), n (SET NULL), d (SET DEFAULT).
      const onDelete =
        constraint.fk_del_action === "c"
          ? `deleting a row of ${target} now deletes the ${table} rows that reference it`
          : constraint.fk_del_action === "n" || constraint.fk_del_action === "d"
            ? `deleting a row of ${target} now changes the ${table} rows that reference it`
            : `its DELETEs of ${target} rows that ${table} rows reference fail`;
      return {
        adding: `adding foreign key ${name} from ${table} (${columns.join(", ")}) to ${target}`,
        checks: `${writes} on ${table} must reference an existing row of ${target}, and ${onDelete}`,
        how: NOT_VALID_THEN_VALIDATE,
        addSql: `ALTER TABLE ${table} ADD CONSTRAINT ${name} FOREIGN KEY (${columns.join(", ")}) REFERENCES ${target} NOT VALID;`,
        validateSql: `ALTER TABLE ${table} VALIDATE CONSTRAINT ${name};`,
      };
    }
    case "CONSTR_UNIQUE":
    case "CONSTR_PRIMARY": {
      const primary = constraint.contype === "CONSTR_PRIMARY";
      const columns = names(constraint.keys);
      const shown = columns.length === 1 ? (columns[0] as string) : `(${columns.join(", ")})`;
      const name = constraint.conname ?? defaultConstraintName(table, primary ? [] : columns, primary ? "pkey" : "key");
      return {
        adding: `adding ${primary ? "primary key" : "unique constraint"} ${name} (${columns.join(", ")}) to ${table}`,
        checks: `${writes} on ${table} that repeats a value of ${shown} fails with a unique violation${primary ? `, and so does one that leaves ${columns.length === 1 ? shown : "one of them"} NULL` : ""}`,
        how: "(building the unique index concurrently first keeps writes going while it builds):",
        addSql: [
          `CREATE UNIQUE INDEX CONCURRENTLY ${name} ON ${table} (${columns.join(", ")});  -- its own migration, outside a transaction`,
          `  ALTER TABLE ${table} ADD CONSTRAINT ${name} ${primary ? "PRIMARY KEY" : "UNIQUE"} USING INDEX ${name};`,
        ].join("\n"),
        validateSql: undefined,
      };
    }
    case "CONSTR_NOTNULL": {
      // PostgreSQL 18: ADD CONSTRAINT name NOT NULL column [NOT VALID].
      const columns = names(constraint.keys);
      const name = constraint.conname ?? defaultConstraintName(table, columns, "not_null");
      return {
        adding: `adding NOT NULL constraint ${name} (${columns.join(", ")}) to ${table}`,
        checks: `${writes} on ${table} that leaves ${columns.join(", ")} NULL fails with a not-null violation`,
        how: NOT_VALID_THEN_VALIDATE,
        addSql: `ALTER TABLE ${table} ADD CONSTRAINT ${name} NOT NULL ${columns.join(", ")} NOT VALID;`,
        validateSql: `ALTER TABLE ${table} VALIDATE CONSTRAINT ${name};`,
      };
    }
    case "CONSTR_EXCLUSION": {
      const name = constraint.conname ?? defaultConstraintName(table, [], "excl");
      return {
        adding: `adding exclusion constraint ${name} to ${table}`,
        checks: `${writes} on ${table} that conflicts with an existing row fails with an exclusion violation`,
        how: "(it cannot be built concurrently: see the lock rules for its lock):",
        addSql: `ALTER TABLE ${table} ADD CONSTRAINT ${name} EXCLUDE USING <method> (...);`,
        validateSql: undefined,
      };
    }
    default:
      return undefined;
  }
}

/** The name PostgreSQL gives an index column: the column, the function of an expression, or "expr". */
function indexColumnName(element: IndexElem): string {
  if (element.name !== undefined) return element.name;
  const call = nodeAs(element.expr, "FuncCall");
  return names(call?.funcname).pop() ?? "expr";
}

function safeSequence(how: string, addSql: string, validateSql: string | undefined): string {
  return [
    "The running release's writes are checked as soon as the constraint exists. Before adding it, deploy a",
    "release whose writes satisfy it and fix the rows that break it; then add it",
    how,
    `  ${addSql}`,
    ...(validateSql === undefined ? [] : [`  ${NEXT_MIGRATION}`, `  ${validateSql}`]),
    `If the running release already never writes such rows, say so: ${ALLOW}`,
  ].join("\n");
}
