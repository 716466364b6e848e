import type { IdleCpuClass } from "../supervisor/cpu-class.js";

/**
 * The longest new instances stay in the idle CPU class during their warm-up. The class gives no
 * CPU at all to a core the live path keeps full, so after this the instances leave it and finish
 * at normal priority: a saturated host deploys as before (up to this much later) instead of never.
 */
export const IDLE_LIMIT_MS = 5_000;

/** A warm-up's stay in the class. */
export interface IdleStay {
  /** End it and say how it went (the step's details); throws if an instance could not leave. */
  leave(): Record<string, unknown>;
  /** End it for a warm-up that failed: whose own error is the step's, so this one is not thrown. */
  abandon(): void;
}

/**
 * Put the new instances (each its process group, led by `pgids`) in the idle CPU class until
 * `leave()` or `limitMs`: they get only the CPU the live release, the router and baton leave, so
 * warming them up (their JIT above all) does not compete with users' requests for a core
 * (docs/architecture.md, "Warm-up in an idle CPU class"). Without a class, nothing moves.
 * `leave()` throws if an instance could not be taken out: it must not serve users from the class.
 */
export function idleWhileWarming(
  pgids: readonly number[],
  idle: IdleCpuClass | undefined,
  limitMs = IDLE_LIMIT_MS,
): IdleStay {
  if (idle === undefined) return { leave: () => ({ cpu: "normal" }), abandon: () => undefined };
  const entered = Date.now();
  let processes = 0;
  for (const pgid of pgids) processes += idle.enter(pgid);
  let details: Record<string, unknown> | undefined;
  let failure: unknown;
  const leaveAll = (): Record<string, unknown> => {
    if (details !== undefined) return details;
    clearTimeout(limit);
    // Every instance is taken out even if one fails; the first failure is the step's.
    for (const pgid of pgids) {
      try {
        idle.leave(pgid);
      } catch (error) {
        failure ??= error;
      }
    }
    const idleMs = Date.now() - entered;
    details = { cpu: "idle", processes, idleMs, ...(idleMs >= limitMs ? { idleLimitReached: true } : {}) };
    return details;
  };
  // Fired by the timer, a failure waits for leave() to be thrown from the step.
  const limit = setTimeout(leaveAll, limitMs);
  return {
    leave() {
      const left = leaveAll();
      if (failure !== undefined) throw failure;
      return left;
    },
    abandon: leaveAll,
  };
}
