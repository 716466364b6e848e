import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { getPriority } from "node:os";
import { test } from "node:test";
import { reniceGroup } from "../src/supervisor/priority.js";
import { startNodeGroup } from "./helpers.js";

/** pid -> nice value of each of its threads, for every process in group `pgid`. */
function groupNiceness(pgid: number): Map<number, number[]> {
  const found = new Map<number, number[]>();
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== pgid) continue;
    const nice: number[] = [];
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const t = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      nice.push(Number(t.slice(t.lastIndexOf(")") + 2).split(" ")[16]));
    }
    found.set(Number(pid), nice);
  }
  return found;
}

test("reniceGroup reaches every thread of every process in the group, not only the leader's main thread", {
  // The group starts at this process's nice value and can only be raised from there.
  skip: process.platform !== "linux" ? "reads /proc" : getPriority() >= 19 ? "the test runs at nice 19 already" : false,
}, async () => {
  const { pgid, kill } = await startNodeGroup();
  try {
    const before = groupNiceness(pgid);
    assert.equal(before.size, 2, "two processes in the group");
    const threads = [...before.values()].reduce((n, t) => n + t.length, 0);
    assert.ok(
      [...before.values()].flat().some((n) => n !== 19),
      "not at 19 already",
    );

    // Node may start a thread meanwhile; one started after inherits 19 from the thread forking it.
    const reniced = reniceGroup(pgid, 19);
    assert.ok(reniced >= threads, `${reniced} threads reniced, ${threads} seen before`);
    for (const [pid, nice] of groupNiceness(pgid)) {
      assert.deepEqual(
        nice,
        nice.map(() => 19),
        `every thread of ${pid} at nice 19`,
      );
    }
  } finally {
    kill();
  }
});
