// The deploy benchmarks the README and docs quote still run: each script once, at its smallest size,
// through its own command line. They measure nothing here (tests never assert timings); they
// must finish, print their tables, and lose no request, as the figures in the README claim.
// Two of them broke once without anyone noticing (they used an API client that had moved).
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runNode } from "./e2e-harness.js";

const BENCH = fileURLToPath(new URL("../../bench/deploy/", import.meta.url));

/** A bench script to completion; SIGTERM at the timeout lets it shut down the server it started. */
const runScript = (script: string, args: string[], timeoutMs: number) =>
  runNode([`${BENCH}${script}`, ...args], { timeoutMs, killSignal: "SIGTERM" });

test("bench/deploy/run.mjs: one deploy under load, its tables, and no failed request", async (t) => {
  const {
    code,
    stdout: out,
    stderr: err,
  } = await runScript("run.mjs", ["--deploys", "1", "--steady", "2", "--gap", "1"], 120_000);
  t.diagnostic(out.split("\n").find((l) => l.startsWith("Total:")) ?? "(no total line)");
  assert.equal(code, 0, `${out}\n${err}`);
  assert.match(out, /^deploy 1 \(v2\)/m);
  assert.match(out, /^step \(medians\)/m);
  assert.match(out, /^switch\s/m);
  assert.match(out, /^Total: \d+ requests, 0 failed;/m);
});

test("bench/deploy/after-switch.mjs: one deploy, the p99 windows after its switch", async () => {
  const { code, stdout: out, stderr: err } = await runScript("after-switch.mjs", ["--deploys", "1"], 120_000);
  assert.equal(code, 0, `${out}\n${err}`);
  assert.match(out, /steady p99 through the router/);
  assert.match(out, /^deploy 1\s+[\d.]+ ms/m);
});

test("bench/deploy/rollback.mjs: one round of each kind of rollback, no failed request", async () => {
  const { code, stdout: out, stderr: err } = await runScript("rollback.mjs", ["--rounds", "1"], 180_000);
  assert.equal(code, 0, `${out}\n${err}`);
  assert.match(out, /^\| 1 \| standby \|\s+\d+ \|\s+\d+ \| 0 \|$/m);
  assert.match(out, /^\| 1 \| boot \|\s+\d+ \|\s+\d+ \| 0 \|$/m);
});

test("bench/deploy/swap-jit.mjs: one round of every variant, each with its row", async () => {
  const { code, stdout: out, stderr: err } = await runScript("swap-jit.mjs", ["--rounds", "1"], 180_000);
  assert.equal(code, 0, `${out}\n${err}`);
  for (const variant of ["same, no admin reads", "same, POST /v1/read", "new, renewed warm-up"]) {
    assert.match(out, new RegExp(`^${variant.replace("/", "\\/")}\\s+\\d+/[\\d-]+\\s+[\\d.]+ ms`, "m"));
  }
});
