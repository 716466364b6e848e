import type { PartitionBoundSpec } from "libpg-query";
import { alterCommands, nodeAs, relationName } from "../ast.js";
import { expressionText, quoteLiteral } from "../expression.js";
import {
  type CheckConstraint,
  checkConstraints,
  defaultPartition,
  type PartitionKey,
  partitionKey,
} from "../relations.js";
import type { Finding, Rule } from "../rule.js";
import { NEXT_MIGRATION } from "../safe-sql.js";

export const attachPartitionWithoutCheck: Rule = {
  id: "attach-partition-without-check",
  group: "lock",
  severity: "warning",
  summary: "ATTACH PARTITION without a validated CHECK proving the bound scans the partition under ACCESS EXCLUSIVE",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const parent = relationName(relation);
    const pgVersion = context.options.pgVersion;
    const findings: Finding[] = [];
    for (const command of commands) {
      const partition = nodeAs(command.def, "PartitionCmd");
      if (command.subtype !== "AT_AttachPartition" || partition === undefined) continue;
      const child = relationName(partition.name);
      const key = partitionKey(context.history, parent);
      const condition = boundCondition(parent, key, partition.bound);
      const attach =
        commands.length === 1 ? `${statement.text};` : `ALTER TABLE ${parent} ATTACH PARTITION ${child} <bound>;`;
      if (!context.isNewTable(child) && !proven(checkConstraints(context.history, child), key)) {
        // Before PostgreSQL 12 the parent is locked exclusively too, for the whole scan.
        const parentLocked = pgVersion < 12 && !context.isNewTable(parent);
        const name = `${child.split(".").pop()}_bound`;
        findings.push({
          ...(parentLocked ? { severity: "error" as const } : {}),
          message: `ATTACH PARTITION ${child} reads every row of ${child} to check it fits its partition bound, because no validated CHECK constraint on ${child} earlier in the migrations proves it${parentLocked ? `; before PostgreSQL 12 every query on ${parent} waits for the whole scan` : ""}`,
          lock: parentLocked
            ? `ACCESS EXCLUSIVE on ${parent} and ${child} for the whole scan`
            : `ACCESS EXCLUSIVE on ${child} (SHARE UPDATE EXCLUSIVE on ${parent}) for the whole scan`,
          safe: [
            "Prove the bound with a CHECK constraint first: added NOT VALID (a brief lock), validated in a later",
            "transaction under SHARE UPDATE EXCLUSIVE (reads and writes go on). The ATTACH then skips the scan:",
            `  ALTER TABLE ${child} ADD CONSTRAINT ${name} CHECK (${condition ?? "<the partition bound as a condition>"}) NOT VALID;`,
            `  ${NEXT_MIGRATION}`,
            `  ALTER TABLE ${child} VALIDATE CONSTRAINT ${name};`,
            `  ${attach}`,
            `  ALTER TABLE ${child} DROP CONSTRAINT ${name};  -- redundant once attached`,
            "For a range or list bound the CHECK must say `<key> IS NOT NULL` too, unless the column is NOT NULL.",
          ].join("\n"),
        });
      }
      const fallback = defaultPartition(context.history, parent);
      if (fallback === undefined || fallback === child || partition.bound?.is_default || context.isNewTable(fallback))
        continue;
      if (proven(checkConstraints(context.history, fallback), key)) continue;
      const name = `${fallback.split(".").pop()}_excludes_${child.split(".").pop()}`;
      findings.push({
        severity: "error",
        message: `ATTACH PARTITION ${child} also reads every row of the default partition ${fallback}, to check none belongs in ${child}, while ${fallback} is locked exclusively: the running release's queries on ${parent} that reach ${fallback} wait for the whole scan`,
        lock: `ACCESS EXCLUSIVE on ${fallback} for the whole scan`,
        safe: [
          `Give ${fallback} a validated CHECK that excludes the new bound first, so the ATTACH skips its scan:`,
          `  ALTER TABLE ${fallback} ADD CONSTRAINT ${name} CHECK (NOT (${condition ?? "<the new partition's bound as a condition>"})) NOT VALID;`,
          `  ${NEXT_MIGRATION}`,
          `  ALTER TABLE ${fallback} VALIDATE CONSTRAINT ${name};`,
          `  ${attach}`,
          `Rows of ${fallback} inside the new bound must be moved out first (in batches), or the VALIDATE fails.`,
        ].join("\n"),
      });
    }
    return findings;
  },
};

/** A validated CHECK on the partition key's columns (any validated CHECK when the key is unknown). */
function proven(checks: readonly CheckConstraint[], key: PartitionKey | undefined): boolean {
  const columns = key?.columns;
  return checks.some((c) => c.validated && (columns === undefined || columns.every((k) => c.columns.includes(k))));
}

/** The partition constraint PostgreSQL derives from the bound, as SQL; undefined when it cannot be written. */
function boundCondition(parent: string, key: PartitionKey | undefined, bound: PartitionBoundSpec | undefined) {
  const columns = key?.columns;
  if (columns === undefined || bound === undefined || bound.is_default) return undefined;
  if (bound.strategy === "h")
    return `satisfies_hash_partition(${quoteLiteral(parent)}::regclass, ${bound.modulus ?? 0}, ${bound.remainder ?? 0}, ${columns.join(", ")})`;
  const [column] = columns;
  if (columns.length !== 1 || column === undefined) return undefined;
  if (bound.strategy === "l") {
    const values = (bound.listdatums ?? []).filter((d) => !nodeAs(d, "A_Const")?.isnull).map((d) => expressionText(d));
    const withNull = values.length < (bound.listdatums ?? []).length;
    if (values.some((v) => v === undefined)) return undefined;
    if (values.length === 0) return withNull ? `${column} IS NULL` : undefined;
    const list = `${column} IN (${values.join(", ")})`;
    return withNull ? `${column} IS NULL OR ${list}` : `${column} IS NOT NULL AND ${list}`;
  }
  const parts = [`${column} IS NOT NULL`];
  for (const [datum, op] of [
    [bound.lowerdatums?.[0], ">="],
    [bound.upperdatums?.[0], "<"],
  ] as const) {
    const limit = nodeAs(datum, "ColumnRef") === undefined ? expressionText(datum) : undefined; // MINVALUE, MAXVALUE
    if (limit !== undefined) parts.push(`${column} ${op} ${limit}`);
    else if (nodeAs(datum, "ColumnRef") === undefined) return undefined;
  }
  return parts.join(" AND ");
}
