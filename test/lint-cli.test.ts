import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURES = "test/fixtures/sql";

function baton(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [MAIN, "lint", ...args], { cwd: ROOT, encoding: "utf8", input });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("baton lint: a safe expand migration exits 0", () => {
  const run = baton([`${FIXTURES}/expand`]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(run.stdout, "no problems in 3 files\n");
});

test("baton lint: an error exits 1 and shows where, the source line, the lock and the safe sequence", () => {
  const run = baton([`${FIXTURES}/contract`]);
  assert.equal(run.code, 1, run.stderr);
  const lines = run.stdout.split("\n");
  assert.match(
    lines[0] ?? "",
    /^test\/fixtures\/sql\/contract\/001_drop_email\.sql:3:1 {2}error {2}drop-column {2}dropping column email/,
  );
  assert.equal(lines[1], "    3 | ALTER TABLE users DROP COLUMN email;");
  assert.equal(lines[2], "      | ^");
  assert.match(run.stdout, /\n {4}lock: ACCESS EXCLUSIVE on users, briefly/);
  assert.match(run.stdout, /\n {4}safe: Expand\/contract/);
  assert.match(run.stdout, /1 error, 0 warnings in 1 file\n$/);
});

test("baton lint --format json: an array of violations", () => {
  const run = baton(["--format", "json", `${FIXTURES}/contract`, `${FIXTURES}/warnings`]);
  assert.equal(run.code, 1);
  const violations = JSON.parse(run.stdout) as { rule: string; file: string; line: number; severity: string }[];
  assert.deepEqual(
    violations.map((v) => [v.file, v.line, v.rule, v.severity]),
    [
      [`${FIXTURES}/contract/001_drop_email.sql`, 3, "drop-column", "error"],
      [`${FIXTURES}/warnings/001_add_column.sql`, 1, "require-lock-timeout", "warning"],
    ],
  );
});

test("baton lint: warnings alone exit 0", () => {
  const run = baton(["--json", `${FIXTURES}/warnings`]);
  assert.equal(run.code, 0);
  assert.equal((JSON.parse(run.stdout) as unknown[]).length, 1);
});

test("baton lint: directories are searched recursively for .sql files, sorted by path", () => {
  const run = baton(["--json", `${FIXTURES}/nested`]);
  const rules = (JSON.parse(run.stdout) as { file: string; rule: string }[]).map((v) => `${v.file}:${v.rule}`);
  assert.deepEqual(rules, [
    `${FIXTURES}/nested/0001_a.sql:rename-column`,
    `${FIXTURES}/nested/2024/0002_b.sql:set-not-null`,
  ]);
});

test("baton lint: --no-transaction and --pg-version change what is safe", () => {
  assert.equal(baton([`${FIXTURES}/concurrent`]).code, 1);
  assert.equal(baton(["--no-transaction", `${FIXTURES}/concurrent`]).code, 0);
  const old = baton(["--json", "--pg-version", "10", `${FIXTURES}/expand/002_add_nickname.sql`]);
  assert.deepEqual(
    (JSON.parse(old.stdout) as { rule: string }[]).map((v) => v.rule),
    ["add-column-not-null-no-default"],
  );
});

test("baton lint -: reads standard input", () => {
  const run = baton(["-", "--json"], "TRUNCATE sessions;");
  assert.equal(run.code, 1);
  assert.equal((JSON.parse(run.stdout) as { file: string }[])[0]?.file, "<stdin>");
});

test("baton lint: usage errors exit 2", () => {
  for (const args of [
    ["--format", "xml"],
    ["--pg-version", "sixteen"],
    ["--pg-version", "3"],
    ["no/such/dir"],
    ["--bogus"],
  ]) {
    const run = baton(args);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, /^error BATON_USAGE: /);
  }
});
