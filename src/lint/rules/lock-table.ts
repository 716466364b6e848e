import { nodeAs, nodesAs, relationName } from "../ast.js";
import { blocksWrites, LOCK_MODES } from "../locks.js";
import type { Rule } from "../rule.js";

export const lockTable: Rule = {
  id: "lock-table",
  group: "lock",
  severity: "error",
  summary: "LOCK TABLE in a mode that blocks writes holds that lock until the transaction ends",
  check(statement, context) {
    const lock = nodeAs(statement.node, "LockStmt");
    if (lock === undefined) return [];
    // PostgreSQL's LOCKMODE numbers: 1 (ACCESS SHARE) .. 8 (ACCESS EXCLUSIVE, the default).
    const mode = LOCK_MODES[(lock.mode ?? 8) - 1] ?? "ACCESS EXCLUSIVE";
    if (!blocksWrites(mode)) return [];
    const tables = nodesAs(lock.relations, "RangeVar")
      .map((r) => relationName(r))
      .filter((t) => !context.isNewTable(t));
    if (tables.length === 0) return [];
    const list = tables.join(", ");
    const blocked = mode === "ACCESS EXCLUSIVE" ? "every read and write" : "every write";
    return [
      {
        message:
          context.transaction === undefined
            ? `LOCK TABLE outside a transaction block is refused by PostgreSQL; inside one, it would hold ${mode} on ${list} until the transaction ends`
            : `LOCK TABLE ${list} IN ${mode} MODE makes ${blocked} of ${list} by the running release wait, ${lock.nowait ? "" : "first while it queues behind running queries, then "}until the transaction ends, through every statement after it`,
        lock: `${mode} on ${list} until the transaction ends`,
        safe: [
          "Do not take the lock yourself: each statement takes the lock it needs, for as short a time as it",
          "can. Keep statements that need strong locks few, short and alone in their transaction, after",
          "SET lock_timeout so that they give up instead of queueing:",
          "  SET lock_timeout = '2s';",
          "If a data fix needs the table frozen, do it in small batches instead, each its own transaction.",
        ].join("\n"),
      },
    ];
  },
};
