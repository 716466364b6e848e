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
    this.entries.push(entry);
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
