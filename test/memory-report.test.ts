import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

// The module under test, from the test's own place in dist/.
const MEMORY = fileURLToPath(new URL("../src/core/memory.js", import.meta.url));

/**
 * Runs a script in a Node of its own with --expose-gc: a full GC can only be forced there, and
 * the test process's own collections must not count.
 */
function run(script: string): Record<string, unknown> {
  const child = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as Record<string, unknown>;
}

test("the heap after a full GC is reported once one has run, and counts only full GCs", () => {
  const report = run(`
    import { memoryReport, watchMemory } from ${JSON.stringify(MEMORY)};
    watchMemory();
    watchMemory(); // idempotent: one observer, so each full GC counts once
    const before = memoryReport();
    // Garbage enough for many young-generation collections, which must not count.
    for (let i = 0; i < 2000; i++) new Array(1_000).fill({ i });
    await new Promise((r) => setTimeout(r, 50));
    const afterMinor = memoryReport();
    let keep = new Array(200_000).fill(0).map((_, i) => ({ i }));
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 50));
    const afterOne = memoryReport();
    keep = null;
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 50));
    const afterTwo = memoryReport();
    console.log(JSON.stringify({ before, afterMinor, afterOne, afterTwo }));
  `) as Record<string, { heapAfterMajorGcBytes: number | null; majorGcs: number; rssBytes: number }>;
  assert.equal(report.before?.majorGcs, 0);
  assert.equal(report.before?.heapAfterMajorGcBytes, null);
  assert.equal(report.afterMinor?.majorGcs, 0, "young-generation collections are not full GCs");
  assert.equal(report.afterOne?.majorGcs, 1);
  assert.equal(report.afterTwo?.majorGcs, 2);
  const one = report.afterOne?.heapAfterMajorGcBytes ?? 0;
  const two = report.afterTwo?.heapAfterMajorGcBytes ?? 0;
  assert.ok(report.afterTwo && report.afterTwo.rssBytes > 0);
  // 200,000 small objects kept alive across the first GC are several MB of live heap that the
  // second GC, after they were dropped, no longer finds.
  assert.ok(one - two > 4 * 1024 * 1024, `live heap ${one} -> ${two} bytes after dropping 200k objects`);
});
