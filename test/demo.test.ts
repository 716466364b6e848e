import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { MAIN } from "./helpers.js";

test("`baton demo` (the README's main command) deploys, runs a canary and rolls back under load with zero failed requests", async () => {
  const child = spawn(process.execPath, [MAIN, "demo", "--json"], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  assert.equal(code, 0, `demo failed:\n${stdout}\n${stderr}`);
  const { reports, total } = JSON.parse(stdout) as {
    reports: Array<{ phase: string; stats: { requests: number; failed: number } }>;
    total: { requests: number; failed: number };
  };
  assert.deepEqual(
    reports.map((r) => r.phase),
    ["steady state", "deploy v2", "canary v3", "rollback", "after"],
  );
  assert.equal(total.failed, 0);
  for (const report of reports) assert.ok(report.stats.requests > 0, `no load during ${report.phase}`);
});
