import { blocksWrites, describeLock, type Lock, lockRank } from "../locks.js";
import type { Rule } from "../rule.js";

export const requireLockTimeout: Rule = {
  id: "require-lock-timeout",
  group: "lock",
  severity: "warning",
  summary: "a statement that blocks writes should not wait for its lock without SET lock_timeout first",
  check(statement, context) {
    if (context.lockTimeout) return [];
    const held = context.transaction?.locks ?? [];
    const waits = context
      .locks(statement)
      .filter((lock) => blocksWrites(lock.mode) && !context.isNewTable(lock.relation) && !alreadyHeld(lock, held));
    if (waits.length === 0) return [];
    const strongest = waits.reduce((a, b) => (lockRank(b.mode) > lockRank(a.mode) ? b : a));
    return [
      {
        message: `without a lock_timeout, this statement waits as long as it takes for ${describeLock(strongest)}, and while it waits every query on ${strongest.relation} queues behind it: one long transaction turns a brief lock into an outage`,
        lock: waits.map(describeLock).join(", "),
        safe: [
          "Set a lock_timeout at the top of the migration, so it gives up instead of queueing, and run",
          "the migration again if it times out:",
          "  SET lock_timeout = '2s';",
          `  ${statement.text.split("\n")[0]}${statement.text.includes("\n") ? " ..." : ""};`,
        ].join("\n"),
      },
    ];
  },
};

function alreadyHeld(lock: Lock, held: readonly Lock[]): boolean {
  return held.some((h) => h.relation === lock.relation && lockRank(h.mode) >= lockRank(lock.mode));
}
