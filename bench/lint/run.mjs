#!/usr/bin/env node
// Lint benchmark: baton's migration linter beside squawk (squawk-cli from npm) on the same files.
// (a) correctness on a shared corpus (bench/lint/corpus: unsafe cases squawk catches, unsafe cases
// it misses, safe forms that must not be flagged); (b) time to lint 1,000 statements, cold (a fresh
// process) and warm (baton's library in-process). See README.md beside this file.
//
//   npm run build && node bench/lint/run.mjs [--cold-runs 5] [--warm-runs 20] [--no-squawk]
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, cpus, release as kernelRelease, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { readOptions } from "../options.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HERE = fileURLToPath(new URL(".", import.meta.url));
const CORPUS = join(HERE, "corpus");
const RECORDED = join(HERE, "squawk-recorded.json");
const MAIN = join(ROOT, "dist/src/cli/main.js");
const LINT = join(ROOT, "dist/src/lint/index.js");
/** squawk-cli version installed by default: the one the corpus and squawk-recorded.json were checked with. */
const SQUAWK_VERSION = "2.66.0";
/** Where squawk-cli is installed (outside the repo, reused across runs). */
const SQUAWK_CACHE = join(tmpdir(), "baton-bench-lint");
/** PostgreSQL version both linters are told the migrations run on (baton's default). */
const PG_VERSION = 16;
/**
 * squawk rules that are about style or robustness rather than a lock or breaking the running
 * release; baton has no such rules, so they count neither as a catch nor as a false alarm.
 * (They are still listed in the JSON results.)
 */
const SQUAWK_STYLE_RULES = new Set([
  "prefer-robust-stmts",
  "require-statement-timeout",
  "prefer-bigint-over-int",
  "prefer-bigint-over-smallint",
  "prefer-identity",
  "prefer-text-field",
  "prefer-timestamptz",
  "ban-char-field",
  "identifier-too-long",
  "require-table-schema",
  "require-enum-value-ordering",
  "transaction-nesting",
  "ban-uncommitted-transaction",
]);
/** Bounds: one child process; npm install; the whole run. */
const CHILD_TIMEOUT_MS = 60_000;
const INSTALL_TIMEOUT_MS = 180_000;
const RUN_TIMEOUT_MS = 15 * 60_000;

const USAGE = `usage: node bench/lint/run.mjs [options]      (after npm run build)
  --cold-runs N       fresh processes timed per tool and scenario, median shown (default 5)
  --warm-runs N       in-process lintSources runs timed, median shown (default 20)
  --warmups N         in-process runs before those, not timed (default 3)
  --statements N      statements generated for the speed test, a multiple of 10 (default 1000)
  --squawk-version V  squawk-cli version installed from npm (default ${SQUAWK_VERSION})
  --no-squawk         do not install or run squawk: its column comes from squawk-recorded.json
  --record-squawk     write squawk's findings on the corpus to bench/lint/squawk-recorded.json
  --skip-speed        correctness table only`;

function options() {
  const { values, int } = readOptions({
    usage: USAGE,
    fail,
    options: {
      "cold-runs": { type: "string", default: "5" },
      "warm-runs": { type: "string", default: "20" },
      warmups: { type: "string", default: "3" },
      statements: { type: "string", default: "1000" },
      "squawk-version": { type: "string", default: SQUAWK_VERSION },
      "no-squawk": { type: "boolean", default: false },
      "record-squawk": { type: "boolean", default: false },
      "skip-speed": { type: "boolean", default: false },
    },
  });
  const statements = int("statements", 10, 100_000);
  if (statements % 10 !== 0) fail(`--statements must be a multiple of 10\n${USAGE}`);
  if (!/^[0-9A-Za-z.+-]+$/.test(values["squawk-version"])) fail(`--squawk-version: not a version\n${USAGE}`);
  if (values["no-squawk"] && values["record-squawk"]) fail("--record-squawk needs squawk: drop --no-squawk");
  return {
    coldRuns: int("cold-runs", 1, 100),
    warmRuns: int("warm-runs", 1, 1000),
    warmups: int("warmups", 0, 100),
    statements,
    squawkVersion: values["squawk-version"],
    noSquawk: values["no-squawk"],
    recordSquawk: values["record-squawk"],
    skipSpeed: values["skip-speed"],
  };
}

function fail(message) {
  console.error(`bench:lint: ${message}`);
  process.exit(1);
}

const progress = (message) => console.error(`bench:lint: ${message}`);

// ---------------------------------------------------------------------------------------------
// Child processes, timing, tables

/** Runs a command to completion, bounded; never throws. ms is wall time from spawn to exit. */
function run(command, args, { cwd = ROOT, timeoutMs = CHILD_TIMEOUT_MS } = {}) {
  return new Promise((resolve) => {
    const started = performance.now();
    let child;
    try {
      child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      resolve({ code: null, signal: null, stdout: "", stderr: String(error), ms: 0, error });
      return;
    }
    const out = [];
    const err = [];
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.on("data", (d) => err.push(d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout: "", stderr: String(error), ms: 0, error });
    });
    child.once("close", (code, signal) => {
      const ms = performance.now() - started;
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        ms,
        timedOut: signal === "SIGKILL" && ms >= timeoutMs,
      });
    });
  });
}

function median(values) {
  const sorted = values.filter((v) => typeof v === "number" && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Aligned text table; columns listed in `left` are left-aligned, the others right-aligned. */
function table(header, rows, left = [0]) {
  const all = [header, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? "" : String(c))));
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const lines = all.map((r) =>
    r
      .map((cell, c) => (left.includes(c) ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join("  ")
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  return lines.join("\n");
}

const ms = (n) => (n === null || n === undefined ? "n/a" : n < 10 ? n.toFixed(2) : n.toFixed(1));

// ---------------------------------------------------------------------------------------------
// squawk-cli from npm

/**
 * Installs squawk-cli@version with npm into a directory under the OS temp dir (never into the
 * project) and finds its binary. squawk-cli is a small JS launcher with no install script; the
 * binary comes in an optional dependency per platform (@squawk-cli/linux-x64, ...), a tarball
 * from the npm registry like any other package: nothing is downloaded at install or run time
 * from anywhere else. Returns { ok: true, ... } or { ok: false, reason }.
 */
async function setupSquawk(version) {
  const dir = join(SQUAWK_CACHE, `squawk-cli@${version}`);
  const key = `${process.platform}-${process.arch}`;
  const launcherPkg = join(dir, "node_modules/squawk-cli/package.json");
  const info = { version, dir, platformKey: key };
  let installed = "reused (installed by an earlier run)";
  if (!existsSync(launcherPkg)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "package.json"),
      `${JSON.stringify({ name: "baton-bench-lint-squawk", private: true }, null, 2)}\n`,
    );
    progress(`installing squawk-cli@${version} with npm into ${dir}`);
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const args = [
      "install",
      "--no-audit",
      "--no-fund",
      "--include=optional",
      "--loglevel=error",
      `squawk-cli@${version}`,
    ];
    const result = await run(npm, args, { cwd: dir, timeoutMs: INSTALL_TIMEOUT_MS });
    if (result.code !== 0) {
      rmSync(dir, { recursive: true, force: true });
      const why = result.timedOut
        ? `timed out after ${INSTALL_TIMEOUT_MS / 1000} s`
        : `exit ${result.code ?? result.signal}`;
      return {
        ok: false,
        ...info,
        reason: `\`npm ${args.join(" ")}\` failed (${why}): ${tail(result.stderr || result.stdout)}`,
      };
    }
    installed = `installed now with \`npm ${args.join(" ")}\``;
  }
  const launcher = JSON.parse(readFileSync(launcherPkg, "utf8"));
  const optional = Object.keys(launcher.optionalDependencies ?? {});
  const platformPkg = `@squawk-cli/${key}`;
  const binary = join(dir, "node_modules", platformPkg, "bin", process.platform === "win32" ? "squawk.exe" : "squawk");
  Object.assign(info, {
    version: launcher.version,
    installScripts: Object.keys(launcher.scripts ?? {}).filter((s) => /install/.test(s)),
    platformPackages: optional,
    platformPackage: platformPkg,
    binary,
    launcher: join(dir, "node_modules/squawk-cli", launcher.bin?.squawk ?? "js/bin/squawk"),
    installed,
    fetched: fetchedUrls(dir),
  });
  if (!optional.includes(platformPkg)) {
    return {
      ok: false,
      ...info,
      reason: `squawk-cli@${launcher.version} ships no binary for ${key} (its optionalDependencies: ${optional.join(", ")})`,
    };
  }
  if (!existsSync(binary)) {
    return {
      ok: false,
      ...info,
      reason: `npm did not install ${platformPkg} (squawk-cli's optional dependency holding the binary): ${binary} is missing; optional dependencies omitted?`,
    };
  }
  const check = await run(binary, ["--version"]);
  if (check.code !== 0) {
    return {
      ok: false,
      ...info,
      reason: `\`${binary} --version\` failed (exit ${check.code ?? check.signal}): ${tail(check.stderr)}`,
    };
  }
  info.reported = check.stdout.trim();
  return { ok: true, ...info };
}

/**
 * The tarballs npm fetched for the squawk install, from its lockfile: `resolved` when npm wrote
 * it, else the registry's standard tarball URL (npm leaves `resolved` out for the default registry).
 */
function fetchedUrls(dir) {
  try {
    const lock = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8"));
    const registry = (spawnSync("npm", ["config", "get", "registry"], { cwd: dir, encoding: "utf8" }).stdout ?? "")
      .trim()
      .replace(/\/?$/, "/");
    return Object.entries(lock.packages ?? {})
      .filter(([path]) => path.startsWith("node_modules/"))
      .map(([path, p]) => {
        if (p.resolved) return p.resolved;
        const name = path.slice("node_modules/".length);
        return `${registry}${name}/-/${name.split("/").pop()}-${p.version}.tgz`;
      });
  } catch {
    return [];
  }
}

/**
 * JSON laid out as the repo's formatter (biome) lays it out, so that a recorded file passes
 * `npm run lint`: objects one key a line, arrays of plain values on one line when it fits in 120.
 */
function formatJson(value, indent = "", prefix = 0) {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (value.every((v) => v === null || typeof v !== "object")) {
      const flat = `[${value.map((v) => JSON.stringify(v)).join(", ")}]`;
      if (prefix + flat.length + 1 <= 120) return flat;
    }
    return `[\n${value.map((v) => `${inner}${formatJson(v, inner, inner.length)}`).join(",\n")}\n${indent}]`;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) return "{}";
    const lines = entries.map(([k, v]) => {
      const key = `${inner}${JSON.stringify(k)}: `;
      return `${key}${formatJson(v, inner, key.length)}`;
    });
    return `{\n${lines.join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(value);
}

function tail(text, lines = 6) {
  return text.trim().split("\n").slice(-lines).join(" | ") || "(no output)";
}

/** squawk's findings per corpus file (path relative to the corpus), all rules. */
async function squawkCorpus(squawk, cases) {
  const files = cases.flatMap((c) => c.files);
  const inTx = files.filter((f) => !f.noTransaction).map((f) => f.path);
  const noTx = files.filter((f) => f.noTransaction).map((f) => f.path);
  const byFile = new Map(files.map((f) => [f.path, []]));
  const runs = [];
  // Like baton's default: the migration tool wraps each file in a transaction, except the files
  // marked `-- baton:no-transaction`, which squawk lints without --assume-in-transaction.
  for (const [paths, flags] of [
    [inTx, ["--assume-in-transaction"]],
    [noTx, []],
  ]) {
    if (paths.length === 0) continue;
    const args = [`--pg-version=${PG_VERSION}`, ...flags, "--reporter=json", ...paths];
    const result = await run(squawk.binary, args, { cwd: CORPUS });
    runs.push({ args: args.filter((a) => !paths.includes(a)), code: result.code });
    // squawk exits 1 when it reports anything.
    if (result.code !== 0 && result.code !== 1)
      throw new Error(`squawk exited ${result.code ?? result.signal}: ${tail(result.stderr)}`);
    let found;
    try {
      found = JSON.parse(result.stdout);
    } catch {
      throw new Error(`squawk printed no JSON: ${tail(result.stdout + result.stderr)}`);
    }
    for (const v of found) byFile.get(v.file)?.push(v.rule_name);
  }
  return { byFile, runs };
}

// ---------------------------------------------------------------------------------------------
// The corpus

/**
 * Cases: each .sql file of a group directory, or each subdirectory (its .sql files linted
 * together, in name order, as a migrations directory). The first line of the (first) file says
 * `-- expect: flagged <group> <kind>` or `-- expect: clean`. <group> is the kind of harm, as baton
 * groups its rules: compat (breaks the running release), lock (blocks it), or any (either one);
 * baton's catch counts only with a rule of that group. <kind> names the problem, for people.
 */
function loadCorpus() {
  const cases = [];
  for (const group of readdirSync(CORPUS).sort()) {
    const groupDir = join(CORPUS, group);
    if (!statSync(groupDir).isDirectory()) continue;
    for (const entry of readdirSync(groupDir).sort()) {
      const full = join(groupDir, entry);
      const paths = statSync(full).isDirectory()
        ? readdirSync(full)
            .filter((f) => f.endsWith(".sql"))
            .sort()
            .map((f) => join(full, f))
        : entry.endsWith(".sql")
          ? [full]
          : [];
      if (paths.length === 0) continue;
      const files = paths.map((p) => {
        const sql = readFileSync(p, "utf8");
        return { path: relative(CORPUS, p), sql, noTransaction: /--\s*baton:no-transaction\b/.test(sql) };
      });
      const first = files[0].sql.split("\n", 1)[0];
      const m = /^--\s*expect:\s*(?:flagged\s+(compat|lock|any)\s+([a-z0-9-]+)|clean)\s*$/.exec(first);
      if (!m)
        fail(
          `${files[0].path}: the first line must be "-- expect: flagged compat|lock|any <kind>" or "-- expect: clean"`,
        );
      cases.push({
        id: relative(CORPUS, full).replace(/\.sql$/, ""),
        group,
        expect: m[2] === undefined ? "clean" : "flagged",
        harm: m[1] ?? null,
        kind: m[2] ?? null,
        files,
      });
    }
  }
  return cases;
}

/** baton's verdict: errors block a deploy, warnings are shown. */
function batonVerdict(c, violations) {
  if (violations.some((v) => v.rule === "syntax-error")) return { verdict: "SYNTAX ERROR", problem: true };
  const relevant = violations.filter((v) => v.group !== "input");
  const errors = relevant.filter((v) => v.severity === "error");
  if (c.expect === "flagged") {
    const right = relevant.filter((v) => c.harm === "any" || v.group === c.harm);
    if (right.some((v) => v.severity === "error")) return { verdict: "caught", caught: true };
    if (right.length > 0) return { verdict: "caught (warning)", caught: true };
    // Flagged for something else only (a compat warning on a statement whose harm is its lock).
    if (relevant.length > 0)
      return {
        verdict: `MISSED (${c.harm}; only ${uniq(relevant.map((v) => v.group)).join("+")})`,
        missed: true,
        problem: true,
      };
    return { verdict: "MISSED", missed: true, problem: true };
  }
  if (errors.length > 0) return { verdict: "FALSE ALARM", falseAlarm: true, problem: true };
  if (relevant.length > 0) return { verdict: "ok (warning)", warned: true };
  return { verdict: "ok" };
}

/** squawk's verdict: every squawk finding fails its run (exit 1); style rules are left out. */
function squawkVerdict(c, rules) {
  if (rules === undefined) return { verdict: "n/a" };
  if (rules.includes("syntax-error")) return { verdict: "SYNTAX ERROR" };
  const relevant = rules.filter((r) => !SQUAWK_STYLE_RULES.has(r));
  if (c.expect === "flagged")
    return relevant.length > 0 ? { verdict: "caught", caught: true } : { verdict: "MISSED", missed: true };
  return relevant.length > 0 ? { verdict: "FALSE ALARM", falseAlarm: true } : { verdict: "ok" };
}

const uniq = (xs) => [...new Set(xs)];

function ruleList(rules, style = new Set()) {
  const shown = uniq(rules).filter((r) => !style.has(r));
  const hidden = uniq(rules).filter((r) => style.has(r)).length;
  return [shown.join(", ") || "-", hidden > 0 ? `(+${hidden} style)` : ""].filter(Boolean).join(" ");
}

// ---------------------------------------------------------------------------------------------
// The speed test's statements

/**
 * One migration of 10 statements, in its own BEGIN/COMMIT, of the kinds real migrations are made
 * of: a new table with its index (exempt), an expand step on an existing table, one of a rotating
 * set of riskier changes (FK NOT VALID, VALIDATE, plain CREATE INDEX, type change, rename), a
 * backfill or a view or a function, a comment, and a DO block or a contract step. Both linters
 * find several problems in it, as they would in a real migration history.
 */
function migration(i) {
  const acc = `accounts_${i % 10}`;
  const ord = `orders_${i % 10}`;
  const items = `items_${i}`;
  const a = [
    `ALTER TABLE ${ord} ADD CONSTRAINT ${ord}_fk_${i} FOREIGN KEY (account_id) REFERENCES ${acc} (id) NOT VALID;`,
    `ALTER TABLE ${ord} VALIDATE CONSTRAINT ${ord}_fk_${i - 1};`,
    `CREATE INDEX ${ord}_created_${i}_idx ON ${ord} (created_at, id);`,
    `ALTER TABLE ${acc} ALTER COLUMN note_${i} TYPE varchar(200);`,
    `ALTER TABLE ${acc} RENAME COLUMN old_${i} TO legacy_${i};`,
  ][i % 5];
  const b = [
    `UPDATE ${acc} SET note_${i} = 'n/a' WHERE note_${i} IS NULL AND id < 10000;`,
    `INSERT INTO settings (key, value) VALUES ('migration_${i}', 'done') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;`,
    `CREATE OR REPLACE VIEW ${items}_active AS SELECT id, account_id, name FROM ${items} WHERE status <> 'archived';`,
    `CREATE OR REPLACE FUNCTION ${items}_count(p_account bigint) RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM ${items} WHERE account_id = p_account $$;`,
  ][i % 4];
  const c = [
    `DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = '${acc}' AND column_name = 'flag_${i}') THEN\n    ALTER TABLE ${acc} ADD COLUMN flag_${i} boolean;\n    EXECUTE 'COMMENT ON COLUMN ${acc}.flag_${i} IS ''set by migration ${i}''';\n  END IF;\nEND\n$$;`,
    `ALTER TABLE ${acc} DROP COLUMN IF EXISTS legacy_${i};`,
  ][i % 2];
  return [
    `-- migration ${String(i).padStart(4, "0")}`,
    "BEGIN;",
    "SET LOCAL lock_timeout = '2s';",
    `CREATE TABLE IF NOT EXISTS ${items} (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  account_id bigint NOT NULL,\n  name text NOT NULL,\n  status text NOT NULL DEFAULT 'new',\n  created_at timestamptz NOT NULL DEFAULT now()\n);`,
    `CREATE INDEX IF NOT EXISTS ${items}_account_id_idx ON ${items} (account_id);`,
    `ALTER TABLE ${acc} ADD COLUMN IF NOT EXISTS note_${i} text;`,
    a,
    b,
    `COMMENT ON COLUMN ${acc}.note_${i} IS 'added by migration ${i}';`,
    c,
    "COMMIT;",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------

/** Which baton was measured. */
function batonBuild() {
  const git = (args) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" }).stdout?.trim() ?? "";
  const newest = (dir, ext) => {
    let latest = 0;
    const walk = (d) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith(ext)) latest = Math.max(latest, statSync(p).mtimeMs);
      }
    };
    if (existsSync(dir)) walk(dir);
    return latest;
  };
  const srcLint = newest(join(ROOT, "src/lint"), ".ts");
  const distLint = newest(join(ROOT, "dist/src/lint"), ".js");
  return {
    commit: git(["rev-parse", "--short", "HEAD"]) || null,
    srcLintUncommittedChanges: git(["status", "--porcelain", "--", "src/lint"]).split("\n").filter(Boolean).length,
    distBuiltAt: existsSync(MAIN) ? statSync(MAIN).mtime.toISOString() : null,
    distOlderThanSrcLint: srcLint > distLint,
  };
}

async function main() {
  const opts = options();
  const watchdog = setTimeout(() => fail(`gave up after ${RUN_TIMEOUT_MS / 60_000} minutes`), RUN_TIMEOUT_MS);
  watchdog.unref();
  const command = `node bench/lint/run.mjs ${process.argv.slice(2).join(" ")}`.trim();
  if (!existsSync(MAIN) || !existsSync(LINT)) fail("dist/ is missing; run `npm run build` first");
  const build = batonBuild();
  if (build.distOlderThanSrcLint)
    progress("warning: src/lint has files newer than dist/: run `npm run build` to measure them");
  const lint = await import(LINT);
  const rules = lint.RULES.map((r) => r.id);
  console.log(`Command: \`${command}\``);
  console.log(
    `baton ${build.commit ?? "?"}${build.srcLintUncommittedChanges ? ` + ${build.srcLintUncommittedChanges} uncommitted files in src/lint` : ""}, dist built ${build.distBuiltAt}, ${rules.length} rules: ${rules.join(", ")}`,
  );

  // squawk
  let squawk;
  if (opts.noSquawk) squawk = { ok: false, reason: "--no-squawk" };
  else {
    try {
      squawk = await setupSquawk(opts.squawkVersion);
    } catch (error) {
      squawk = { ok: false, reason: `install failed: ${error.message}` };
    }
  }
  let recorded;
  if (squawk.ok) {
    console.log(
      `squawk: ${squawk.reported} (squawk-cli ${squawk.version} from npm, binary from ${squawk.platformPackage}; ${squawk.installed}; ` +
        `install scripts: ${squawk.installScripts.length ? squawk.installScripts.join(", ") : "none"}; fetched only: ${squawk.fetched.join(", ") || "n/a"})`,
    );
  } else {
    console.log(`\nSQUAWK NOT RUN: ${squawk.reason}`);
    if (existsSync(RECORDED)) {
      recorded = JSON.parse(readFileSync(RECORDED, "utf8"));
      console.log(
        `The squawk column below is squawk's RECORDED findings (squawk-cli ${recorded.squawkVersion}, ${recorded.recordedAt}, bench/lint/squawk-recorded.json), not a run; no squawk timings.`,
      );
    } else console.log("No bench/lint/squawk-recorded.json either: the squawk column is n/a.");
  }
  console.log(
    `Both linters: PostgreSQL ${PG_VERSION}, each file in a transaction unless it says -- baton:no-transaction.\n`,
  );

  // (a) correctness
  const cases = loadCorpus();
  let squawkFiles;
  let squawkRuns = [];
  if (squawk.ok) {
    try {
      ({ byFile: squawkFiles, runs: squawkRuns } = await squawkCorpus(squawk, cases));
    } catch (error) {
      squawk = { ...squawk, ok: false, reason: `squawk failed on the corpus: ${error.message}` };
      console.log(`\nSQUAWK NOT RUN: ${squawk.reason}\n`);
    }
  } else if (recorded) squawkFiles = new Map(Object.entries(recorded.files));
  const rows = [];
  for (const c of cases) {
    const violations = await lint.lintSources(
      c.files.map((f) => ({ file: f.path, sql: f.sql })),
      { pgVersion: PG_VERSION },
    );
    const sqRules =
      squawkFiles && c.files.every((f) => squawkFiles.has(f.path))
        ? c.files.flatMap((f) => squawkFiles.get(f.path))
        : undefined;
    rows.push({
      ...c,
      baton: { ...batonVerdict(c, violations), violations },
      squawk: { ...squawkVerdict(c, sqRules), rules: sqRules },
    });
  }
  if (opts.recordSquawk && squawk.ok) {
    const files = Object.fromEntries([...squawkFiles].sort(([a], [b]) => (a < b ? -1 : 1)));
    writeFileSync(
      RECORDED,
      `${formatJson({
        note: "squawk's findings on bench/lint/corpus, recorded by `node bench/lint/run.mjs --record-squawk`; used for the squawk column when squawk cannot run. rulesFromDocs: https://squawkhq.com/docs/rules",
        squawkVersion: squawk.version,
        recordedAt: new Date().toISOString(),
        platform: squawk.platformKey,
        runs: squawkRuns,
        styleRules: [...SQUAWK_STYLE_RULES],
        rulesFromDocs: SQUAWK_DOCS_RULES,
        files,
      })}\n`,
    );
    progress(`wrote ${relative(ROOT, RECORDED)}`);
  }
  const squawkLabel = squawk.ok ? "squawk" : recorded ? "squawk (recorded)" : "squawk";
  const groups = uniq(rows.map((r) => r.group));
  for (const group of groups) {
    const gr = rows.filter((r) => r.group === group);
    console.log(`Corpus: ${group} (${gr.length} cases)`);
    console.log(
      table(
        ["case", "expect", "baton", "baton rules", squawkLabel, "squawk rules"],
        gr.map((r) => [
          r.id.slice(group.length + 1),
          r.expect === "clean" ? "clean" : `${r.harm}: ${r.kind}`,
          r.baton.verdict,
          ruleList(
            r.baton.violations
              .filter((v) => v.group !== "input" || v.rule === "syntax-error")
              .map((v) => (v.severity === "warning" ? `${v.rule}(w)` : v.rule)),
          ),
          r.squawk.verdict,
          r.squawk.rules === undefined ? "" : ruleList(r.squawk.rules, SQUAWK_STYLE_RULES),
        ]),
        [0, 1, 2, 3, 4, 5],
      ),
    );
    console.log("");
  }
  const totals = (tool) =>
    groups.map((group) => {
      const gr = rows.filter((r) => r.group === group);
      const flagged = gr.filter((r) => r.expect === "flagged");
      const clean = gr.filter((r) => r.expect === "clean");
      const v = (r) => r[tool];
      return [
        tool === "squawk" ? squawkLabel : "baton",
        group,
        flagged.length ? `${flagged.filter((r) => v(r).caught).length}/${flagged.length}` : "",
        flagged.length ? String(flagged.filter((r) => v(r).missed).length) : "",
        clean.length ? `${clean.filter((r) => v(r).falseAlarm).length}/${clean.length}` : "",
        clean.length ? String(clean.filter((r) => v(r).warned).length) : "",
        String(gr.filter((r) => v(r).verdict === "SYNTAX ERROR").length || ""),
      ];
    });
  console.log("Totals");
  console.log(
    table(
      ["linter", "group", "caught", "missed", "false alarms", "warnings on safe", "syntax errors"],
      [...totals("baton"), ...(squawkFiles ? totals("squawk") : [])],
      [0, 1],
    ),
  );
  const squawkCaught = rows.filter((r) => r.expect === "flagged" && r.squawk.caught);
  const squawkMissed = rows.filter((r) => r.expect === "flagged" && r.squawk.missed);
  const safe = rows.filter((r) => r.expect === "clean");
  const goal = {
    catchesWhatSquawkCatches: squawkFiles ? squawkCaught.every((r) => r.baton.caught) : null,
    catchesWhatSquawkMisses: squawkFiles ? squawkMissed.every((r) => r.baton.caught) : null,
    noFalseAlarmOnSafeForms: safe.every((r) => !r.baton.falseAlarm),
  };
  const yes = (b, list) =>
    b === null ? "n/a (no squawk results)" : b ? "yes" : `NO (${list.map((r) => r.id).join(", ")})`;
  console.log(
    `\nGoal: baton catches every case squawk catches: ${yes(
      goal.catchesWhatSquawkCatches,
      squawkCaught.filter((r) => !r.baton.caught),
    )}` +
      `\n      baton catches the unsafe cases squawk misses: ${yes(
        goal.catchesWhatSquawkMisses,
        squawkMissed.filter((r) => !r.baton.caught),
      )}` +
      `\n      no false alarm (error) on the safe forms: ${yes(
        goal.noFalseAlarmOnSafeForms,
        safe.filter((r) => r.baton.falseAlarm),
      )}`,
  );
  const problems = rows.filter((r) => r.baton.problem || r.baton.warned);
  if (problems.length > 0) {
    console.log("\nbaton's misses, false alarms and warnings on safe forms (the SQL, comments left out):");
    for (const r of problems) {
      console.log(
        `\n${r.id}: expected ${r.expect === "clean" ? "clean" : `flagged (${r.harm}: ${r.kind})`}, baton: ${r.baton.verdict}`,
      );
      for (const f of r.files) {
        const sql = f.sql
          .split("\n")
          .filter((l) => !/^\s*--/.test(l) && l.trim() !== "")
          .join("\n    ");
        console.log(`  ${f.path}:\n    ${sql}`);
      }
      for (const v of r.baton.violations)
        console.log(`  -> ${v.severity} ${v.rule} (${v.file}:${v.line}): ${v.message}`);
    }
  }

  // (b) speed
  let speed = null;
  if (!opts.skipSpeed) {
    try {
      speed = await speedTest(opts, lint, squawk);
    } catch (error) {
      // The corpus results still get written; the run exits 1.
      console.log(`\nSPEED TEST FAILED: ${error.message}`);
      speed = { error: error.message };
      process.exitCode = 1;
    }
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const resultsDir = join(ROOT, "bench/results");
  mkdirSync(resultsDir, { recursive: true });
  const out = join(resultsDir, `lint-${stamp}.json`);
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        command,
        at: new Date().toISOString(),
        machine: {
          cpu: cpus()[0]?.model ?? null,
          cores: availableParallelism(),
          kernel: kernelRelease(),
          node: process.version,
        },
        baton: { ...build, rules },
        squawk: { ...squawk, recorded: recorded ? { version: recorded.squawkVersion, at: recorded.recordedAt } : null },
        squawkStyleRules: [...SQUAWK_STYLE_RULES],
        goal,
        corpus: rows.map((r) => ({
          case: r.id,
          group: r.group,
          expect: r.expect,
          harm: r.harm,
          kind: r.kind,
          files: r.files.map((f) => f.path),
          baton: {
            verdict: r.baton.verdict,
            violations: r.baton.violations.map(({ rule, severity, file, line, column, message }) => ({
              rule,
              severity,
              file,
              line,
              column,
              message,
            })),
          },
          squawk: { verdict: r.squawk.verdict, rules: r.squawk.rules ?? null },
        })),
        speed,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nResults: ${relative(ROOT, out)}`);
}

async function speedTest(opts, lint, squawk) {
  const migrations = opts.statements / 10;
  const texts = Array.from({ length: migrations }, (_, i) => migration(i));
  const dir = mkdtempSync(join(tmpdir(), "baton-bench-lint-"));
  const interrupted = () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once("SIGINT", interrupted);
  try {
    const oneFile = join(dir, "all.sql");
    writeFileSync(oneFile, texts.join("\n"));
    const many = join(dir, "migrations");
    mkdirSync(many);
    for (const [i, t] of texts.entries()) writeFileSync(join(many, `${String(i).padStart(4, "0")}_migration.sql`), t);
    const manyFiles = readdirSync(many)
      .sort()
      .map((f) => join(many, f));
    // The generator is checked with baton's own parser: exactly N top-level statements, no syntax error.
    const parsed = await lint.parseSql(texts.join("\n"), "all.sql");
    const top = parsed.statements.filter((s) => s.parent === undefined).length;
    if (parsed.syntaxError || top !== opts.statements)
      throw new Error(`generated SQL: ${parsed.syntaxError?.message ?? `${top} statements, not ${opts.statements}`}`);
    const lines = texts.join("\n").split("\n").length;
    console.log(
      `\nSpeed: ${opts.statements} statements (${migrations} migrations of 10, each in BEGIN/COMMIT; ${lines} lines, ${Buffer.byteLength(texts.join("\n"))} bytes)` +
        ` as one file and as ${migrations} files; both linters told the files manage their own transactions` +
        ` (baton --no-transaction, squawk without --assume-in-transaction). Cold: median of ${opts.coldRuns} fresh processes` +
        ` (after one untimed run); warm: baton's lintSources in this process, median of ${opts.warmRuns} after ${opts.warmups} warm-ups.`,
    );
    const scenarios = [
      { name: "1 file", paths: [oneFile], sources: [{ file: oneFile, sql: readFileSync(oneFile, "utf8") }] },
      {
        name: `${migrations} files`,
        paths: [many],
        squawkPaths: manyFiles,
        sources: manyFiles.map((f) => ({ file: f, sql: readFileSync(f, "utf8") })),
      },
      {
        name: "1 statement",
        paths: [join(dir, "one.sql")],
        sources: [{ file: join(dir, "one.sql"), sql: "ALTER TABLE users ADD COLUMN nickname text;\n" }],
      },
    ];
    writeFileSync(scenarios[2].paths[0], scenarios[2].sources[0].sql);
    const results = [];
    const cold = async (tool, scenario, commandArgs, count) => {
      const [cmd, ...args] = commandArgs;
      const samples = [];
      let last;
      for (let i = 0; i <= opts.coldRuns; i++) {
        last = await run(cmd, args, { cwd: dir });
        if (last.timedOut || (last.code !== 0 && last.code !== 1))
          throw new Error(`${tool} on ${scenario.name}: exit ${last.code ?? last.signal}: ${tail(last.stderr)}`);
        if (i > 0) samples.push(last.ms); // the first run only warms the file cache
      }
      let findings = null;
      try {
        findings = count(JSON.parse(last.stdout));
      } catch {
        throw new Error(`${tool} on ${scenario.name}: printed no JSON: ${tail(last.stdout + last.stderr)}`);
      }
      results.push({ scenario: scenario.name, tool, mode: "cold", samples, medianMs: median(samples), findings });
    };
    for (const scenario of scenarios) {
      progress(`timing: ${scenario.name}`);
      await cold(
        "baton",
        scenario,
        [process.execPath, MAIN, "lint", ...scenario.paths, "--format", "json", "--no-transaction"],
        (j) => j.length,
      );
      if (squawk.ok) {
        const paths = scenario.squawkPaths ?? scenario.paths;
        const args = [`--pg-version=${PG_VERSION}`, "--reporter=json", ...paths];
        await cold("squawk", scenario, [squawk.binary, ...args], (j) => j.length);
        await cold("squawk (npm launcher)", scenario, [process.execPath, squawk.launcher, ...args], (j) => j.length);
      }
      // warm: the library, as the deploy pipeline calls it
      let findings = 0;
      for (let i = 0; i < opts.warmups; i++)
        await lint.lintSources(scenario.sources, { pgVersion: PG_VERSION, transaction: false });
      const samples = [];
      for (let i = 0; i < opts.warmRuns; i++) {
        const t = performance.now();
        const v = await lint.lintSources(scenario.sources, { pgVersion: PG_VERSION, transaction: false });
        samples.push(performance.now() - t);
        findings = v.length;
      }
      results.push({
        scenario: scenario.name,
        tool: "baton",
        mode: "warm",
        samples,
        medianMs: median(samples),
        findings,
      });
    }
    const nodeSamples = [];
    for (let i = 0; i <= opts.coldRuns; i++) {
      const r = await run(process.execPath, ["-e", "0"]);
      if (i > 0) nodeSamples.push(r.ms);
    }
    const nodeMs = median(nodeSamples);
    const statementsOf = (name) => (name === "1 statement" ? 1 : opts.statements);
    const rowsOut = results.map((r) => {
      const squawkCold = results.find((x) => x.scenario === r.scenario && x.tool === "squawk" && x.mode === "cold");
      const min = Math.min(...r.samples);
      const max = Math.max(...r.samples);
      return [
        r.scenario,
        r.tool,
        r.mode,
        ms(r.medianMs),
        `${ms(min)}-${ms(max)}`,
        statementsOf(r.scenario) > 1
          ? Math.round((statementsOf(r.scenario) / r.medianMs) * 1000).toLocaleString("en-US")
          : "",
        squawkCold ? `${(r.medianMs / squawkCold.medianMs).toFixed(2)}x` : "",
        String(r.findings),
      ];
    });
    console.log(
      table(
        ["scenario", "linter", "mode", "median ms", "range ms", "statements/s", "vs squawk cold", "findings"],
        rowsOut,
        [0, 1, 2],
      ),
    );
    console.log(
      `(node -e 0, for scale: ${ms(nodeMs)} ms median; baton's cold time includes it and compiling the libpg-query WebAssembly.` +
        ` "squawk (npm launcher)" is \`npx squawk\`: node starting the launcher, which spawns the binary. Findings are each tool's own count, all rules; they differ in what they count.)`,
    );
    return {
      statements: opts.statements,
      migrations,
      lines,
      nodeStartupMs: nodeMs,
      nodeStartupSamples: nodeSamples,
      results,
    };
  } finally {
    process.removeListener("SIGINT", interrupted);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** squawk's rule ids as listed at https://squawkhq.com/docs/rules (recorded with the findings). */
const SQUAWK_DOCS_RULES = [
  "adding-field-with-default",
  "adding-foreign-key-constraint",
  "adding-not-nullable-field",
  "adding-required-field",
  "adding-serial-primary-key-field",
  "ban-char-field",
  "ban-concurrent-index-creation-in-transaction",
  "ban-drop-column",
  "ban-drop-database",
  "ban-drop-not-null",
  "ban-drop-table",
  "changing-column-type",
  "constraint-missing-not-valid",
  "disallowed-unique-constraint",
  "prefer-bigint-over-int",
  "prefer-bigint-over-smallint",
  "prefer-identity",
  "prefer-robust-stmts",
  "prefer-text-field",
  "prefer-timestamptz",
  "renaming-column",
  "renaming-table",
  "require-concurrent-index-creation",
  "require-concurrent-index-deletion",
  "transaction-nesting",
  "ban-create-domain-with-constraint",
  "ban-alter-domain-with-add-constraint",
  "ban-truncate-cascade",
  "syntax-error",
  "require-timeout-settings",
  "ban-uncommitted-transaction",
  "require-enum-value-ordering",
  "require-table-schema",
  "identifier-too-long",
  "require-concurrent-partition-detach",
  "require-concurrent-reindex",
  "prefer-repack",
];

main().catch((error) => fail(error.stack ?? String(error)));
