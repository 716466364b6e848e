// CPU time of every process a deploy involves, sampled from /proc while bench/deploy/run.mjs runs
// with --cpu: which process takes the two cores in each step. Linux only. Each thread's time on a
// CPU comes from /proc/PID/task/TID/schedstat, in nanoseconds (utime + stime count 10 ms ticks,
// which left the 10-20 ms switch and stop steps unreadable), sampled every SAMPLE_MS; a step
// gets the share of each sample's interval that falls inside it.
import { readdirSync, readFileSync } from "node:fs";

const SAMPLE_MS = 25;
const DISCOVER_MS = 200;
const RECHECK_MS = 2_000;

const read = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/** A thread's time on a CPU in ms (schedstat's first field is nanoseconds); undefined if unreadable. */
function threadMs(pid, tid) {
  const text = read(`/proc/${pid}/task/${tid}/schedstat`);
  const ns = text === undefined ? Number.NaN : Number(text.split(" ")[0]);
  return Number.isFinite(ns) ? ns / 1e6 : undefined;
}

/**
 * Time on a CPU of a process (its live threads), or of its main thread alone with `main`, in ms;
 * undefined once it is gone.
 */
function cpuMs(pid, main = false) {
  const mainMs = threadMs(pid, pid);
  if (mainMs === undefined || main) return mainMs;
  let tids;
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  // A thread that exited since the last sample takes its time with it: the difference can come
  // out negative for one sample, which the caller drops.
  return tids.reduce((sum, tid) => sum + (threadMs(pid, tid) ?? 0), 0);
}

/**
 * `classify(pid, argv)` names a process's class (or undefined: not tracked). Returns
 * `{ stop(), between(t0, t1) }`: CPU ms per class between two Date.now() times. Each class also
 * gets a `<class> main` entry: its main thread alone (JavaScript and the event loop; the rest is
 * V8's compiler and GC helper threads and libuv's pool), which is not to be added to the total.
 */
export function startCpuSampler(classify) {
  // Every Linux with CONFIG_SCHED_INFO (all the distributions' kernels) has it; say so rather than
  // print a table of zeros.
  if (threadMs(process.pid, process.pid) === undefined)
    throw new Error("--cpu needs /proc/PID/task/TID/schedstat, which this kernel does not have");
  const tracked = new Map(); // pid -> { cls, cmdline, seen, last, lastMain }
  const ignored = new Map(); // pid -> { cmdline, seen }
  const samples = []; // [from, to, cls, ms]: ms of CPU used between two sampling times
  const discover = () => {
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      const known = tracked.get(pid) ?? ignored.get(pid);
      // A child found between its fork and its exec still shows its parent's command line (an
      // instance would count as `baton server`): a new process is classified again while it is
      // young, if its command line changed.
      if (known !== undefined && Date.now() - known.seen > RECHECK_MS) continue;
      const cmdline = read(`/proc/${pid}/cmdline`);
      if (cmdline === undefined || cmdline === known?.cmdline) continue;
      const cls = classify(pid, cmdline.split("\0").filter(Boolean));
      const seen = known?.seen ?? Date.now();
      if (cls === undefined) {
        tracked.delete(pid);
        ignored.set(pid, { cmdline, seen });
      } else {
        ignored.delete(pid);
        const entry = tracked.get(pid);
        if (entry !== undefined) Object.assign(entry, { cls, cmdline });
        else
          tracked.set(pid, {
            cls,
            cmdline,
            seen,
            last: cpuMs(pid) ?? 0,
            lastMain: cpuMs(pid, true) ?? 0,
            lastAt: Date.now(),
          });
      }
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
      const main = cpuMs(pid, true) ?? entry.lastMain;
      const cls = typeof entry.cls === "function" ? entry.cls() : entry.cls;
      const from = entry.lastAt;
      if (now > from) {
        if (ms > entry.last) samples.push([from, now, cls, ms - entry.last]);
        if (main > entry.lastMain) samples.push([from, now, `${cls} main`, main - entry.lastMain]);
      }
      entry.last = ms;
      entry.lastMain = main;
      entry.lastAt = now;
    }
  };
  discover();
  const timers = [setInterval(discover, DISCOVER_MS), setInterval(sample, SAMPLE_MS)];
  return {
    stop() {
      for (const t of timers) clearInterval(t);
    },
    /** CPU ms per class between two Date.now() times: each sample's share of its interval inside them. */
    between(t0, t1) {
      const out = {};
      for (const [from, to, cls, ms] of samples) {
        const overlap = Math.min(to, t1) - Math.max(from, t0);
        if (overlap > 0) out[cls] = (out[cls] ?? 0) + (ms * overlap) / (to - from);
      }
      return out;
    },
  };
}
