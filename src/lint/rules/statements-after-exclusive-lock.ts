import { alterCommands, type Node, nodeAs, optionEnabled, relationName } from "../ast.js";
import type { Context } from "../context.js";
import { blocksWrites, describeLock, lockRank } from "../locks.js";
import { IndexTables } from "../relations.js";
import type { Rule } from "../rule.js";
import type { Statement } from "../statement.js";

export const statementsAfterExclusiveLock: Rule = {
  id: "statements-after-exclusive-lock",
  group: "lock",
  severity: "error",
  summary:
    "work done (or another lock awaited) after an ACCESS EXCLUSIVE lock in the same transaction keeps that lock held",
  check(statement, context) {
    const transaction = context.transaction;
    if (transaction === undefined || !transaction.locks.some((l) => l.mode === "ACCESS EXCLUSIVE")) return [];
    // Cheap questions first: most statements neither work on rows nor wait for a strong lock.
    const work = dataWork(statement);
    const strong =
      work === undefined
        ? context.locks(statement).filter((l) => blocksWrites(l.mode) && !context.isNewTable(l.relation))
        : [];
    if (work === undefined && strong.length === 0) return [];
    const takenAt = exclusiveLocks(transaction.statements, context);
    const held = [...takenAt.keys()];
    if (held.length === 0) return [];
    const since = (relation: string) => {
      const line = takenAt.get(relation);
      return line === undefined ? "" : ` (taken at line ${line})`;
    };
    if (work !== undefined) {
      const touched = new Set([...relationsIn(statement.node), ...context.locks(statement).map((l) => l.relation)]);
      const onLocked = held.filter((relation) => touched.has(relation));
      const relations = onLocked.length > 0 ? onLocked : held;
      const first = relations[0] as string;
      const list = relations.join(", ");
      const table = onLocked.length > 0 ? first : "<table>";
      return [
        {
          ...(onLocked.length > 0 ? {} : { severity: "warning" as const }),
          message:
            onLocked.length > 0
              ? `${work} on ${list} runs while this transaction holds ACCESS EXCLUSIVE on it${since(first)}: every read and write of ${list} by the running release waits for the whole ${work} and until the transaction commits`
              : `${work} runs while this transaction holds ACCESS EXCLUSIVE on ${list}${since(first)}: the running release's queries on ${list} wait for it too, and until the transaction commits`,
          lock: `ACCESS EXCLUSIVE on ${list}${since(first)}, held until the transaction ends`,
          safe: [
            "Commit right after the statement that takes the lock, and do this work in a transaction of its",
            "own: move it to the next migration (each file runs in its own transaction) or COMMIT before it.",
            "A backfill goes in batches, each its own transaction, so no lock is held for long:",
            `  UPDATE ${table} SET ... WHERE id IN (SELECT id FROM ${table} WHERE <not yet done> LIMIT 10000);`,
          ].join("\n"),
        },
      ];
    }
    // A strong lock on another table has to be waited for, behind whatever runs on that table, and
    // every query on the locked tables queues for as long. A lock_timeout bounds that wait, but up
    // to the timeout is still a stall of every request that touches them: a warning either way.
    const waits = strong.filter(
      (l) =>
        !held.includes(l.relation) &&
        !transaction.locks.some((h) => h.relation === l.relation && lockRank(h.mode) >= lockRank(l.mode)),
    );
    const wait = waits[0];
    if (wait === undefined) return [];
    const first = held[0] as string;
    const list = held.join(", ");
    return [
      {
        severity: "warning",
        message: context.lockTimeout
          ? `this statement must get ${describeLock(wait)} while the transaction already holds ACCESS EXCLUSIVE on ${list}${since(first)}: it waits behind the queries running on ${wait.relation} for up to the lock_timeout, and every query on ${list} waits as long`
          : `this statement must get ${describeLock(wait)} while the transaction already holds ACCESS EXCLUSIVE on ${list}${since(first)}: with no lock_timeout it waits behind the queries running on ${wait.relation} for as long as they run, and every query on ${list} waits too`,
        lock: `ACCESS EXCLUSIVE on ${list}${since(first)}, held until the transaction ends, while ${waits.map(describeLock).join(", ")} is awaited`,
        safe: [
          "Take one table's strong locks per transaction: put the statements on each table in a migration",
          "of their own (each file runs in its own transaction), or COMMIT between them, so that no lock is",
          "held while another is awaited; and SET lock_timeout first, which bounds every wait:",
          "  SET lock_timeout = '2s';",
        ].join("\n"),
      },
    ];
  },
};

/**
 * The existing relations the transaction holds ACCESS EXCLUSIVE on, each with the line that took
 * it. DROP INDEX and REINDEX INDEX lock an index; the table behind it, as the history knew it
 * then, is what the running release waits for.
 */
function exclusiveLocks(statements: readonly Statement[], context: Context): Map<string, number> {
  const taken = statements.map((s) => ({
    statement: s,
    relations: context
      .locks(s)
      .filter((l) => l.mode === "ACCESS EXCLUSIVE")
      .map((l) => l.relation),
  }));
  // Only an index's lock needs the walk through the history that says which table it belongs to.
  const onIndex = new Map(
    taken
      .filter((t) => t.relations.length > 0 && (t.statement.kind === "DropStmt" || t.statement.kind === "ReindexStmt"))
      .map((t) => [t.statement, t]),
  );
  if (onIndex.size > 0) {
    const indexes = new IndexTables();
    for (const earlier of context.history) {
      const entry = onIndex.get(earlier);
      if (entry !== undefined) entry.relations = entry.relations.map((r) => indexes.table(r) ?? r);
      indexes.apply(earlier);
    }
  }
  const takenAt = new Map<string, number>();
  for (const { statement, relations } of taken)
    for (const relation of relations)
      if (!context.isNewTable(relation) && !takenAt.has(relation)) takenAt.set(relation, statement.line);
  return takenAt;
}

/** What the statement does when its time grows with the data (a name for messages); undefined if it does not. */
function dataWork(statement: Statement): string | undefined {
  const node = statement.node;
  switch (statement.kind) {
    case "InsertStmt": {
      // INSERT ... VALUES writes the rows it lists; INSERT ... SELECT reads a table.
      const select = nodeAs(nodeAs(node, "InsertStmt")?.selectStmt, "SelectStmt");
      return select !== undefined && select.valuesLists !== undefined && select.fromClause === undefined
        ? undefined
        : "INSERT ... SELECT";
    }
    case "SelectStmt": {
      const select = nodeAs(node, "SelectStmt");
      return select?.fromClause !== undefined || select?.larg !== undefined ? "SELECT" : undefined;
    }
    case "AlterTableStmt":
      return alterCommands(node).commands.some((c) => c.subtype === "AT_ValidateConstraint")
        ? "VALIDATE CONSTRAINT"
        : undefined;
    case "IndexStmt":
      // CONCURRENTLY in a transaction is refused outright: concurrently-in-transaction's finding.
      return nodeAs(node, "IndexStmt")?.concurrent ? undefined : "CREATE INDEX";
    case "ReindexStmt":
      return optionEnabled(nodeAs(node, "ReindexStmt")?.params, "concurrently") ? undefined : "REINDEX";
    default:
      return WORK[statement.kind];
  }
}

const WORK: Partial<Record<string, string>> = {
  UpdateStmt: "UPDATE",
  DeleteStmt: "DELETE",
  MergeStmt: "MERGE",
  CopyStmt: "COPY",
  RefreshMatViewStmt: "REFRESH MATERIALIZED VIEW",
  ClusterStmt: "CLUSTER",
  VacuumStmt: "VACUUM",
  CreateTableAsStmt: "CREATE TABLE AS",
  CallStmt: "CALL",
};

/** Every relation the statement names (FROM, JOIN, INSERT INTO, subqueries...). */
function relationsIn(node: Node): string[] {
  const out = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === "object" && value !== null) {
      if (typeof (value as { relname?: unknown }).relname === "string")
        out.add(relationName(value as Parameters<typeof relationName>[0]));
      Object.values(value).forEach(walk);
    }
  };
  walk(node);
  return [...out];
}
