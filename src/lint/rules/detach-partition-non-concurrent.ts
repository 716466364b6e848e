import { alterCommands, nodeAs, relationName } from "../ast.js";
import { defaultPartition } from "../relations.js";
import type { Finding, Rule } from "../rule.js";

export const detachPartitionNonConcurrent: Rule = {
  id: "detach-partition-non-concurrent",
  group: "lock",
  severity: "error",
  summary: "DETACH PARTITION without CONCURRENTLY (PostgreSQL 14+) locks the whole partitioned table",
  check(statement, context) {
    if (context.options.pgVersion < 14) return [];
    const { relation, commands } = alterCommands(statement.node);
    const parent = relationName(relation);
    if (context.isNewTable(parent)) return [];
    const findings: Finding[] = [];
    for (const command of commands) {
      const partition = nodeAs(command.def, "PartitionCmd");
      if (command.subtype !== "AT_DetachPartition" || partition?.concurrent) continue;
      const child = relationName(partition?.name);
      const lock = `ACCESS EXCLUSIVE on ${parent} and ${child} until the transaction ends`;
      const withDefault = defaultPartition(context.history, parent);
      if (withDefault !== undefined && withDefault !== child) {
        findings.push({
          severity: "warning",
          message: `DETACH PARTITION ${child} locks all of ${parent} exclusively; CONCURRENTLY is not allowed because ${parent} has a default partition (${withDefault})`,
          lock,
          safe: [
            "Keep the lock short: set a lock_timeout and run the DETACH alone in its transaction (it reads no rows):",
            "  SET lock_timeout = '2s';",
            `  ALTER TABLE ${parent} DETACH PARTITION ${child};`,
          ].join("\n"),
        });
        continue;
      }
      findings.push({
        message: `DETACH PARTITION ${child} locks all of ${parent} exclusively: every query on ${parent} waits while it queues behind running queries and until the transaction commits`,
        lock,
        safe: [
          "Detach it concurrently (PostgreSQL 14+), in a migration that runs outside a transaction (mark the",
          "file `-- baton:no-transaction`); it takes only SHARE UPDATE EXCLUSIVE, so reads and writes go on:",
          `  ALTER TABLE ${parent} DETACH PARTITION ${child} CONCURRENTLY;`,
          "If it is interrupted, the partition is left pending; finish it with:",
          `  ALTER TABLE ${parent} DETACH PARTITION ${child} FINALIZE;`,
        ].join("\n"),
      });
    }
    return findings;
  },
};
