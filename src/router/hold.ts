/**
 * Requests waiting for an app to have a ready Target ("hold, don't fail"): first boot, every
 * instance crashed, or routing paused by the control plane. Each waiter has an absolute deadline;
 * the queue is bounded so a long outage cannot exhaust the router's memory.
 */
export interface Waiter {
  /** Try again now; the waiter re-holds itself if it still cannot be served. */
  resume(): void;
  /** The deadline passed (or the router is closing): answer without an upstream. */
  expire(): void;
}

interface Entry {
  waiter: Waiter;
  timer: NodeJS.Timeout;
}

export class HoldQueue {
  private entries: Entry[] = [];
  /** Set while resumeNext() hands a slot out: a waiter that re-holds goes back to its place. */
  private reenterAt: number | undefined;

  constructor(private readonly maxHeld: number) {}

  get size(): number {
    return this.entries.length;
  }

  /** Returns false when the queue is full; the caller answers 503 at once. */
  add(waiter: Waiter, deadline: number): boolean {
    if (this.entries.length >= this.maxHeld) return false;
    const entry: Entry = {
      waiter,
      timer: setTimeout(
        () => {
          this.remove(entry);
          waiter.expire();
        },
        Math.max(0, deadline - Date.now()),
      ),
    };
    if (this.reenterAt === undefined) this.entries.push(entry);
    else this.entries.splice(this.reenterAt, 0, entry);
    return true;
  }

  remove(entry: Entry): void {
    const index = this.entries.indexOf(entry);
    if (index >= 0) this.entries.splice(index, 1);
  }

  /** Hand every waiter back in arrival order; those that still cannot be served re-enter. */
  flush(): void {
    if (this.entries.length === 0) return;
    const waiting = this.entries;
    this.entries = [];
    for (const entry of waiting) {
      clearTimeout(entry.timer);
      entry.waiter.resume();
    }
  }

  /**
   * One slot came free (a request on a limited instance finished): the first waiter that can use
   * it gets it. A waiter that cannot (its choice is another Pool, say) keeps its place and the next
   * is asked, so the queue stays first come, first served and the slot is not left idle.
   */
  resumeNext(): void {
    const n = this.entries.length;
    for (let i = 0; i < n && i < this.entries.length; i++) {
      const entry = this.entries[i] as Entry;
      this.entries.splice(i, 1);
      clearTimeout(entry.timer);
      this.reenterAt = i;
      try {
        entry.waiter.resume();
      } finally {
        this.reenterAt = undefined;
      }
      // It left the queue (served, or answered): the slot is taken.
      if (this.entries.length < n) return;
    }
  }

  /** Answer everyone now (router shutting down, app removed). */
  expireAll(): void {
    const waiting = this.entries;
    this.entries = [];
    for (const entry of waiting) {
      clearTimeout(entry.timer);
      entry.waiter.expire();
    }
  }
}
