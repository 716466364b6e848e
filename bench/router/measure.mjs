// Measuring: CPU and memory of a proxy's processes from /proc, and wrk runs with their output parsed.
import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Kernel clock ticks per second: the unit of utime/stime in /proc/PID/stat. */
export const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** Fields of /proc/PID/stat after the command name (which may itself contain spaces or parentheses). */
export function statFields(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

/**
 * `root` and all its descendants, found by parent pid. A proxy may be several processes (an nginx
 * master and its workers); ProcessSampler reads the set once per run (workers are not replaced mid-run).
 */
export function processTree(root) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let ppid;
    try {
      ppid = Number(statFields(entry)[1]);
    } catch {
      continue; // exited while we were looking
    }
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(entry));
  }
  const pids = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift();
    pids.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return pids;
}

/** utime + stime in clock ticks for each pid (threads included: the kernel sums them per process). */
export function cpuTicks(pids) {
  const ticks = new Map();
  for (const pid of pids) {
    try {
      const f = statFields(pid);
      // After the name: state is field 3 of stat, so utime (14) and stime (15) are at index 11 and 12.
      ticks.set(pid, Number(f[11]) + Number(f[12]));
    } catch {
      // exited: contributes nothing
    }
  }
  return ticks;
}

/** CPU seconds used by the processes present in both snapshots. */
export function cpuSecondsBetween(before, after) {
  let ticks = 0;
  for (const [pid, t] of after) if (before.has(pid)) ticks += t - before.get(pid);
  return ticks / CLK_TCK;
}

/** Sum of VmRSS over the pids, in kB. Shared pages (nginx workers share the master's) count once per process. */
export function rssKb(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (match) total += Number(match[1]);
    } catch {
      // exited
    }
  }
  return total;
}

/**
 * Samples a process tree's CPU at start and stop, and its summed RSS every `intervalMs` in
 * between, keeping the peak.
 */
export class ProcessSampler {
  constructor(rootPid, intervalMs = 200) {
    this.rootPid = rootPid;
    this.intervalMs = intervalMs;
    this.peakKb = 0;
  }

  start() {
    // The process tree is read once per run: scanning all of /proc at every sample cost about
    // 3 ms of CPU each time, taken from the same 2 cores the proxy under test runs on.
    this.pids = processTree(this.rootPid);
    this.before = cpuTicks(this.pids);
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  sample() {
    this.peakKb = Math.max(this.peakKb, rssKb(this.pids));
  }

  stop() {
    clearInterval(this.timer);
    this.sample();
    return {
      cpuSeconds: cpuSecondsBetween(this.before, cpuTicks(this.pids)),
      peakRssMb: this.peakKb / 1024,
    };
  }
}

/** wrk prints durations as e.g. 812.00us, 1.23ms, 2.01s, 1.50m. */
function toMs(text) {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  if (!match) return null;
  const factor = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2]];
  return Number(match[1]) * factor;
}

/** The numbers we use from `wrk --latency` output; throws when the output is not what wrk prints. */
export function parseWrk(text) {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  const requests = /^\s*(\d+) requests in ([\d.]+\w+)/m.exec(text);
  const p50 = /^\s+50%\s+(\S+)/m.exec(text);
  const p99 = /^\s+99%\s+(\S+)/m.exec(text);
  if (!rps || !requests || !p50 || !p99) throw new Error(`could not parse wrk output:\n${text}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requestsPerSec: Number(rps[1]),
    requests: Number(requests[1]),
    p50Ms: toMs(p50[1]),
    p99Ms: toMs(p99[1]),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: socket
      ? { connect: Number(socket[1]), read: Number(socket[2]), write: Number(socket[3]), timeout: Number(socket[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
}

/**
 * Run wrk once against a loopback URL. wrk stops itself after `durationS`; the kill timer is only
 * a backstop so a hung wrk cannot hold the benchmark forever. `track` registers the child so an
 * interrupt stops it too. With `script`, wrk runs that Lua file, and `scriptArgs` reach its
 * init(args) (wrk takes them after the URL, behind "--").
 */
export function runWrk({ url, connections, durationS, threads = 1, script, scriptArgs = [], track }) {
  if (!url.startsWith("http://127.0.0.1:")) throw new Error(`refusing to load a non-loopback URL: ${url}`);
  const args = [`-t${threads}`, `-c${connections}`, `-d${durationS}s`, "--latency"];
  if (script) args.push("-s", script);
  args.push(url);
  if (script && scriptArgs.length > 0) args.push("--", ...scriptArgs.map(String));
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    const untrack = track?.(child, "wrk") ?? (() => {});
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    child.stderr.on("data", (c) => {
      err += c;
    });
    const backstop = setTimeout(() => child.kill("SIGKILL"), (durationS + 15) * 1000);
    child.on("error", (error) => {
      clearTimeout(backstop);
      untrack();
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(backstop);
      untrack();
      if (code !== 0) {
        reject(new Error(`wrk ${args.join(" ")} exited with ${code ?? signal}: ${err || out}`));
        return;
      }
      try {
        resolve({ command: `wrk ${args.join(" ")}`, ...parseWrk(out), output: out });
      } catch (error) {
        reject(error);
      }
    });
  });
}

export function median(values) {
  const sorted = values.filter((v) => v !== null && v !== undefined && !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
