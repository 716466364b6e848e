import type { PoolDescription } from "./ops.js";
import type { Target } from "./target.js";

export interface PoolSpec {
  /** Stable id chosen by the control plane (e.g. the deploy id); unique per app. */
  id: string;
  /** The Release this Pool serves (e.g. "v7"); the key of the router's per-release counts. */
  release: string;
  targets: Array<{ host: string; port: number }>;
  /** HTTP path for the active check after an ejection; a TCP connect when absent. */
  healthPath?: string;
}

/**
 * The Targets of one Release. Picks by least outstanding requests, ties broken at random, so a
 * slow or cold instance naturally gets less traffic than round robin would give it.
 */
export class Pool {
  constructor(
    readonly id: string,
    readonly release: string,
    readonly targets: readonly Target[],
    readonly healthPath: string | undefined,
  ) {}

  get ready(): boolean {
    for (const target of this.targets) if (target.available) return true;
    return false;
  }

  /** `limit` > 0 skips Targets with that many requests in flight (the app's per-instance limit). */
  pick(exclude?: Target, limit = 0): Target | undefined {
    let best: Target | undefined;
    let ties = 0;
    for (const target of this.targets) {
      if (!target.available || target === exclude || (limit > 0 && target.inFlight >= limit)) continue;
      if (best === undefined || target.inFlight < best.inFlight) {
        best = target;
        ties = 1;
      } else if (target.inFlight === best.inFlight) {
        // Reservoir sampling over the tied Targets: each is chosen with probability 1/ties.
        ties++;
        if (Math.random() * ties < 1) best = target;
      }
    }
    return best;
  }

  spec(): PoolSpec {
    return {
      id: this.id,
      release: this.release,
      targets: this.targets.map((t) => ({ host: t.host, port: t.port })),
      ...(this.healthPath === undefined ? {} : { healthPath: this.healthPath }),
    };
  }

  describe(): PoolDescription {
    return { ...this.spec(), targets: this.targets.map((t) => t.describe()) };
  }
}
