// CPU time of every process a deploy involves, sampled from /proc while bench/deploy/run.mjs runs
// with --cpu: which process takes the two cores in each step. Linux only; 10 ms resolution (the
// kernel's utime + stime ticks, all threads of a process), summed over a run's deploys.
import { readdirSync, readFileSync } from "node:fs";

const TICK_MS = 10; // USER_HZ is 100 on every Linux this runs on
const SAMPLE_MS = 25;
const DISCOVER_MS = 200;

const read = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/** utime + stime of a process, in ms; undefined once it is gone. */
function cpuMs(pid) {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * `classify(pid, argv)` names a process's class (or undefined: not tracked). Returns
 * `{ stop(), between(t0, t1) }`: CPU ms per class between two Date.now() times.
 */
export function startCpuSampler(classify) {
  const tracked = new Map(); // pid -> { cls, last }
  const ignored = new Set();
  const samples = []; // [time, cls, ms]
  const discover = () => {
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      if (tracked.has(pid) || ignored.has(pid)) continue;
      const cmdline = read(`/proc/${pid}/cmdline`);
      const cls = cmdline === undefined ? undefined : classify(pid, cmdline.split("\0").filter(Boolean));
      if (cls === undefined) ignored.add(pid);
      else tracked.set(pid, { cls, last: cpuMs(pid) ?? 0 });
    }
  };
  const sample = () => {
    const now = Date.now();
    for (const [pid, entry] of tracked) {
      const ms = cpuMs(pid);
      if (ms === undefined) {
        tracked.delete(pid);
        continue;
      }
      if (ms > entry.last)
        samples.push([now, typeof entry.cls === "function" ? entry.cls() : entry.cls, ms - entry.last]);
      entry.last = ms;
    }
  };
  discover();
  const timers = [setInterval(discover, DISCOVER_MS), setInterval(sample, SAMPLE_MS)];
  return {
    stop() {
      for (const t of timers) clearInterval(t);
    },
    between(t0, t1) {
      const out = {};
      for (const [time, cls, ms] of samples) if (time > t0 && time <= t1) out[cls] = (out[cls] ?? 0) + ms;
      return out;
    },
  };
}
