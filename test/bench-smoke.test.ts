// The deploy benchmarks the README quotes still run: each script once, at its smallest size,
// through its own command line. They measure nothing here (tests never assert timings); they
// must finish, print their tables, and lose no request, as the figures in the README claim.
// Two of them broke once without anyone noticing (they used an API client that had moved).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const BENCH = fileURLToPath(new URL("../../bench/deploy/", import.meta.url));

function runScript(
  script: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${BENCH}${script}`, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

test("bench/deploy/run.mjs: one deploy under load, its tables, and no failed request", async (t) => {
  const { code, out, err } = await runScript("run.mjs", ["--deploys", "1", "--steady", "2", "--gap", "1"], 120_000);
  t.diagnostic(out.split("\n").find((l) => l.startsWith("Total:")) ?? "(no total line)");
  assert.equal(code, 0, `${out}\n${err}`);
  assert.match(out, /^deploy 1 \(v2\)/m);
  assert.match(out, /^step \(medians\)/m);
  assert.match(out, /^switch\s/m);
  assert.match(out, /^Total: \d+ requests, 0 failed;/m);
});

test("bench/deploy/after-switch.mjs: one deploy, the p99 windows after its switch", async () => {
  const { code, out, err } = await runScript("after-switch.mjs", ["--deploys", "1"], 120_000);
  assert.equal(code, 0, `${out}\n${err}`);
  assert.match(out, /steady p99 through the router/);
  assert.match(out, /^deploy 1\s+[\d.]+ ms/m);
});

test("bench/deploy/rollback.mjs: one round of each kind of rollback, no failed request", async () => {
  const { code, out, err } = await runScript("rollback.mjs", ["--rounds", "1"], 180_000);
  assert.equal(code, 0, `${out}\n${err}`);
  assert.match(out, /^\| 1 \| standby \|\s+\d+ \|\s+\d+ \| 0 \|$/m);
  assert.match(out, /^\| 1 \| boot \|\s+\d+ \|\s+\d+ \| 0 \|$/m);
});
