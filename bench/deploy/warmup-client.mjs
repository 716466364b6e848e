// The CPU a warm-up costs its client (`baton server`) per request: baton's warm-up client
// (dist/src/deploy/warmup.js, on the router's upstream connection) against node:http's client with
// a keep-alive Agent (what it used before), each in a fresh process (the server's client code is
// cold at every deploy) against one examples/hello instance on loopback. Interleaved rounds,
// medians. Build first (npm run build).
//
//   node bench/deploy/warmup-client.mjs [--rounds 3]
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { median } from "../router/measure.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const self = fileURLToPath(import.meta.url);
const REQUESTS = [
  { method: "GET", path: "/", body: undefined },
  { method: "POST", path: "/api/echo", body: '{"order":42,"items":["a","b"]}' },
  { method: "GET", path: "/slow?ms=0", body: undefined },
];
const COUNTS = [300, 3000];

/** In the child: warm `port` with `count` requests (concurrency 4, a new connection every 20) and print its CPU. */
async function child(which, port, count) {
  const spec = { requests: REQUESTS, count, concurrency: 4, timeoutMs: 5_000 };
  const before = process.cpuUsage();
  let result;
  if (which === "baton") {
    const { warmUp } = await import(`${ROOT}dist/src/deploy/warmup.js`);
    result = await warmUp(port, spec);
  } else result = await nodeHttpWarmUp(port, spec);
  const cpu = process.cpuUsage(before);
  console.log(JSON.stringify({ ...result, cpuUs: cpu.user + cpu.system }));
}

/** node:http's client as the warm-up used it: a keep-alive Agent, Connection: close every 20th request. */
async function nodeHttpWarmUp(port, spec) {
  const { Agent, request } = await import("node:http");
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  let next = 0;
  let ok = 0;
  let failed = 0;
  const one = ({ method, path, body }, last) =>
    new Promise((resolve) => {
      const headers = { "x-baton-warmup": "1", ...(last ? { connection: "close" } : {}) };
      if (body !== undefined)
        Object.assign(headers, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      const req = request({ host: "127.0.0.1", port, path, method, agent, headers }, (res) => {
        res.resume();
        res.once("end", () => resolve(res.statusCode < 500));
      });
      req.setTimeout(spec.timeoutMs, () => req.destroy());
      req.once("error", () => resolve(false));
      req.end(body);
    });
  const worker = async () => {
    for (let n = 1; next < spec.count; n++) {
      if (await one(spec.requests[next++ % spec.requests.length], n % 20 === 0)) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  agent.destroy();
  return { ok, failed };
}

async function main() {
  const roundsAt = process.argv.indexOf("--rounds");
  const rounds = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 3;
  const { freePort } = await import(`${ROOT}dist/src/supervisor/ports.js`);
  const port = await freePort();
  const app = spawn(process.execPath, ["server.js"], {
    cwd: `${ROOT}examples/hello`,
    env: { ...process.env, PORT: String(port), BOOT_DELAY_MS: "0", COLD_REQUESTS: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    // Its "listening" line; an app that never starts ends the run instead of hanging it.
    await once(app.stdout, "data", { signal: AbortSignal.timeout(15_000) });
    const us = {};
    for (let r = 0; r < rounds; r++) {
      for (const count of COUNTS) {
        for (const which of ["node:http", "baton"]) {
          const run = spawnSync(process.execPath, [self, "--child", which, String(port), String(count)], {
            encoding: "utf8",
            timeout: 120_000,
          });
          const out = JSON.parse(run.stdout.trim().split("\n").pop() ?? "{}");
          if (out.ok !== count) throw new Error(`${which}: ${run.stdout}${run.stderr}`);
          const key = `${which} ${count}`;
          us[key] = [...(us[key] ?? []), out.cpuUs / count];
        }
      }
    }
    console.log(
      `Command: \`node bench/deploy/warmup-client.mjs --rounds ${rounds}\` (examples/hello, concurrency 4)\n`,
    );
    console.log("| requests | node:http µs/request | baton µs/request | baton vs node:http |\n|---:|---:|---:|---:|");
    for (const count of COUNTS) {
      const a = median(us[`node:http ${count}`]);
      const b = median(us[`baton ${count}`]);
      console.log(`| ${count} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(b / a).toFixed(2)}x |`);
    }
  } finally {
    app.kill();
  }
}

if (process.argv[2] === "--child") await child(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
else await main();
