import { constants, PerformanceObserver } from "node:perf_hooks";

/**
 * What a long-running baton process (router, server) reports about its memory in /v1/health.
 *
 * Why the heap after the last major GC: `heapUsed` sampled at any moment includes garbage that
 * V8 has not collected yet, and V8 lets the old space grow for minutes between full collections,
 * so a sampled heap climbs and drops in a long sawtooth that a 30-minute fit reads as growth. The
 * heap right after a mark-compact is what the process really keeps alive: if that climbs across
 * many collections, something leaks; if it stays flat, growth in RSS is V8 or malloc holding pages,
 * not a leak. bench/soak judges on it.
 */
export interface MemoryReport {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  /** Live heap measured just after the most recent full (mark-compact) GC; null before the first. */
  heapAfterMajorGcBytes: number | null;
  /** Full GCs seen since the process started watching. */
  majorGcs: number;
}

let watching = false;
let majorGcs = 0;
let heapAfterMajorGc: number | null = null;

/**
 * Start counting full GCs. Idempotent. Costs one small entry per GC (minor ones included: the
 * observer cannot filter by kind), delivered off the hot path after the collection.
 */
export function watchMemory(): void {
  if (watching) return;
  watching = true;
  const observer = new PerformanceObserver((list) => {
    let sawMajor = false;
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        majorGcs++;
        sawMajor = true;
      }
    }
    // Read once per batch: the callback runs soon after the collection, before much is allocated.
    if (sawMajor) heapAfterMajorGc = process.memoryUsage().heapUsed;
  });
  // An observer holds no handle: it never keeps an otherwise finished process alive.
  observer.observe({ entryTypes: ["gc"] });
}

export function memoryReport(): MemoryReport {
  const m = process.memoryUsage();
  return {
    rssBytes: m.rss,
    heapUsedBytes: m.heapUsed,
    heapTotalBytes: m.heapTotal,
    externalBytes: m.external,
    arrayBuffersBytes: m.arrayBuffers,
    heapAfterMajorGcBytes: heapAfterMajorGc,
    majorGcs,
  };
}
