import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { intOption, listOption } from "../src/cli/args.js";
import { parseConfigPairs } from "../src/cli/config-pairs.js";
import { type ConfigProblem, parseAppJson, parseProcfile, resolveConfig } from "../src/config/index.js";
import { BatonError } from "../src/core/errors.js";
import { lintSql } from "../src/lint/index.js";

/**
 * Property tests of every parser of user input (docs/security.md, "Fuzzing"). For any input a
 * parser returns a result that keeps its own invariants, or a problem list / BatonError that names
 * the file and key (and line); never another exception, never a hang (inputs are bounded).
 * fast-check picks a new seed per run and prints it with the shrunk counterexample on failure.
 */

const PROCESS_NAME = /^[A-Za-z0-9_-]+$/;
const RUNS = 400;

/** Any text: every code point (NUL, lone surrogates, CR, BOM) in short and long strings. */
const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.string({
    unit: fc.constantFrom("a", ":", " ", "\r", "\n", "#", "\0", "\uFEFF", "é", "-", "{", '"'),
    maxLength: 400,
  }),
  fc.string({ unit: "binary-ascii", maxLength: 5_000 }),
);

/** Strange values to put where a well-formed document has a valid one. */
const oddJsonValue = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    1e308,
    -1e308,
    2 ** 53 + 1,
    "",
    " ",
    "NaN",
    "Infinity",
    "-0",
    "1e3",
    "0x10",
    "25%",
    "101%",
    "/",
    "\0",
    "a\0b",
    "\r\n",
    "x".repeat(20_000),
    "é☃\u{1F600}",
    "__proto__",
    "constructor",
    [],
    {},
  ),
  fc.integer(),
  fc.double(),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), { maxKeys: 3 }),
);

/** A valid app.json exercising every section, the base of the structure-aware mutations. */
function validAppJson(): Record<string, unknown> {
  return {
    name: "shop",
    description: "a shop",
    formation: { web: { quantity: 2, size: "basic" }, worker: { quantity: 1 } },
    healthchecks: {
      web: [{ type: "startup", name: "boot", path: "/health", attempts: 5, wait: 1, timeout: 5, initialDelay: 0 }],
    },
    scripts: { dokku: { predeploy: "npm run migrate", postdeploy: "echo done" }, postdeploy: "echo ok" },
    env: { SECRET: { generator: "secret" }, MODE: "production", OPT: { value: "x", required: false } },
    baton: {
      build: "npm run build",
      strategy: "rolling",
      warmup: { paths: ["/", "POST /api", { method: "PUT", path: "/x", body: "{}" }], count: 5, concurrency: 2 },
      smoke: [{ path: "/", status: 200 }],
      drainTimeoutMs: 1000,
      stopTimeoutMs: 1000,
      bootTimeoutMs: 5000,
      releaseTimeoutMs: 5000,
      keepReleases: 3,
      migrations: { dir: "db/migrations", postgres: 16, strict: true },
      singleton: ["worker"],
      rolling: { maxSurge: "50%", maxUnavailable: 1 },
      canary: { steps: [10, { weight: 50, bakeMs: 1000 }], sticky: true },
      bakeMs: 1000,
      rollback: {
        auto: true,
        minRequests: 100,
        errorRateIncrease: 1.5,
        p99Ratio: 2,
        p99MinIncreaseMs: 25,
        maxCrashes: 0,
      },
    },
  };
}

/** Every path (as key lists) of a JSON value, so a mutation can reach any field. */
function pathsOf(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...pathsOf(v, [...prefix, i]));
  } else if (typeof value === "object" && value !== null)
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

function setAt(root: Record<string, unknown>, path: Array<string | number>, value: unknown): void {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[key];
  Object.defineProperty(node as object, path[path.length - 1] as string | number, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

const APP_PATHS = pathsOf(validAppJson()).filter((p) => p.length > 0);

/** A valid app.json with one field replaced, a key added or renamed, then one textual twist. */
const mutatedAppJson = fc
  .record({
    path: fc.constantFrom(...APP_PATHS),
    kind: fc.constantFrom("replace", "add", "rename"),
    value: oddJsonValue,
    key: fc.oneof(
      fc.constantFrom("__proto__", "constructor", "toString", "quantity", "web", "a.b", "x[0]", ""),
      fc.string({ maxLength: 10 }),
    ),
    twist: fc.constantFrom("none", "crlf", "bom", "indent", "duplicate", "nul", "longline", "truncate", "deep"),
    cut: fc.nat(),
  })
  .map(({ path, kind, value, key, twist, cut }) => {
    const doc = validAppJson();
    if (kind === "replace") setAt(doc, path, value);
    else {
      const parent = path.slice(0, -1);
      const target = parent.length === 0 ? doc : (parent.reduce<unknown>((n, k) => (n as never)[k], doc) as object);
      if (typeof target === "object" && target !== null && !Array.isArray(target)) {
        if (kind === "rename") delete (target as Record<string, unknown>)[path[path.length - 1] as string];
        setAt(doc, [...parent, key], value);
      }
    }
    let text = JSON.stringify(doc, null, twist === "indent" ? "\t" : 2);
    if (twist === "crlf") text = text.replaceAll("\n", "\r\n");
    if (twist === "bom") text = `\uFEFF${text}`;
    if (twist === "duplicate") text = text.replace('"name": "shop"', '"name": "shop",\n  "name": "other"');
    if (twist === "nul") text = text.replace('"shop"', '"sh\0op"');
    if (twist === "longline") text = text.replace('"a shop"', JSON.stringify("y".repeat(100_000)));
    if (twist === "truncate") text = text.slice(0, cut % (text.length + 1));
    if (twist === "deep") text = text.replace('"a shop"', `${"[".repeat(2_000)}${"]".repeat(2_000)}`);
    return text;
  });

/** Calls `parse`; a thrown error must be a BatonError (returned), anything else fails the property. */
function batonOnly<T>(parse: () => T): T | BatonError {
  try {
    return parse();
  } catch (error) {
    if (error instanceof BatonError) return error;
    throw new Error(`threw ${(error as Error)?.constructor?.name}, not a BatonError: ${(error as Error)?.message}`, {
      cause: error,
    });
  }
}

function lineCount(text: string): number {
  return text.split("\n").length;
}

function assertProblemsLocated(problems: readonly ConfigProblem[], file: string, text: string): void {
  for (const p of problems) {
    assert.equal(p.file, file);
    assert.ok(p.message.length > 0);
    if (p.line !== undefined) {
      assert.ok(Number.isInteger(p.line) && p.line >= 1 && p.line <= lineCount(text), `line ${p.line} out of range`);
    }
  }
}

function assertAppJsonInvariants(text: string): void {
  const result = parseAppJson(text);
  assertProblemsLocated(result.problems, "app.json", text);
  for (const p of result.problems) {
    // A problem inside the document names its key and the key's line; only a problem with the
    // whole text (not JSON, or not an object) has neither.
    if (p.key !== undefined && p.key !== "") assert.notEqual(p.line, undefined, `no line for ${p.key}`);
    if (p.key === undefined || p.key === "") assert.ok(p.message.length > 0);
  }
  const c = result.config;
  for (const [type, entry] of Object.entries(c.formation ?? {})) {
    if (entry.quantity !== undefined) assert.ok(Number.isInteger(entry.quantity) && entry.quantity >= 0, type);
  }
  for (const key of ["formation", "healthchecks", "env"] as const) {
    // Every entry the document gave is an own property: "__proto__" must not become a prototype.
    const value = c[key];
    if (value !== undefined) assert.equal(Object.getPrototypeOf(value), Object.prototype, key);
  }
  for (const checks of Object.values(c.healthchecks ?? {}))
    for (const check of checks) {
      assert.ok(["startup", "liveness", "readiness"].includes(check.type));
      if (check.path !== undefined) assert.match(check.path, /^\/[\x21-\x7e]*$/);
    }
  for (const smoke of c.baton?.smoke ?? []) assert.match(smoke.path, /^\/[\x21-\x7e]*$/);
  const strings = JSON.stringify(c);
  assert.ok(!strings.includes("\\u0000"), "a NUL byte was accepted into the config");
  if (result.problems.length > 0) return;
  // A clean app.json must resolve (or fail the cross-file checks with a BatonError).
  const procfile = [
    { name: "web", command: "node web.js", line: 1 },
    { name: "worker", command: "node w.js", line: 2 },
  ];
  const resolved = batonOnly(() => resolveConfig({ procfile, appJson: c, appJsonLines: result.keyLines }));
  if (resolved instanceof BatonError) {
    assert.equal(resolved.code, "BATON_CONFIG_INVALID");
    return;
  }
  for (const p of resolved.processes) {
    assert.ok(PROCESS_NAME.test(p.name));
    assert.ok(Number.isInteger(p.quantity) && p.quantity >= 0 && p.quantity <= 100, `${p.name}: ${p.quantity}`);
  }
}

describe("fuzz: config parsers", () => {
  test("Procfile: any text gives valid process types or located problems", () => {
    const procfileish = fc
      .array(
        fc.oneof(
          fc
            .tuple(fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 60 }))
            .map(([n, c]) => `${n}: ${c}`),
          fc.constantFrom("web: node web.js", "web: node again.js", "# comment", "", "  ", "\0: x", "w\0b: x", "a: \0"),
          fc.constant(`web: ${"z".repeat(100_000)}`),
          anyText,
        ),
        { maxLength: 30 },
      )
      .chain((lines) => fc.constantFrom("\n", "\r\n", "\r").map((eol) => lines.join(eol)));
    fc.assert(
      fc.property(fc.oneof(anyText, procfileish), fc.boolean(), (body, bom) => {
        const text = bom ? `\uFEFF${body}` : body;
        const result = parseProcfile(text);
        assertProblemsLocated(result.problems, "Procfile", text);
        const names = new Set<string>();
        for (const p of result.processes) {
          assert.ok(PROCESS_NAME.test(p.name), `bad name ${JSON.stringify(p.name)}`);
          assert.ok(!names.has(p.name), `duplicate ${p.name}`);
          names.add(p.name);
          assert.ok(p.command !== "" && p.command === p.command.trim());
          assert.ok(!/[\0\n]/.test(p.command), `command ${JSON.stringify(p.command)} has a NUL or newline`);
          assert.ok(p.line >= 1 && p.line <= lineCount(text));
        }
        // Either something runs, or the file says why not.
        assert.ok(result.processes.length > 0 || result.problems.length > 0);
      }),
      { numRuns: RUNS },
    );
  });

  test("app.json: random text gives a config or located problems, never a crash", () => {
    fc.assert(
      fc.property(anyText, (text) => assertAppJsonInvariants(text)),
      { numRuns: RUNS },
    );
  });

  test("app.json: valid documents with one field mutated (wrong type, huge, negative, NUL, deep, CRLF, BOM, duplicates)", () => {
    fc.assert(
      fc.property(mutatedAppJson, (text) => assertAppJsonInvariants(text)),
      { numRuns: RUNS * 2 },
    );
  });

  test("app.json: arbitrary JSON values in each baton/formation/healthchecks section", () => {
    const section = fc.constantFrom("formation", "healthchecks", "baton", "env", "scripts");
    fc.assert(
      fc.property(section, fc.jsonValue({ maxDepth: 4 }), (key, value) =>
        assertAppJsonInvariants(JSON.stringify({ [key]: value })),
      ),
      { numRuns: RUNS },
    );
  });

  test("integer options (--port, --lines, --hold-timeout ...): a whole number >= min or BATON_USAGE naming the option", () => {
    const numberish = fc.oneof(
      fc.string({ unit: "binary", maxLength: 30 }),
      fc.integer().map(String),
      fc.double().map(String),
      fc.constantFrom("", " ", " 7", "7 ", "0x10", "1e3", "1e400", "-0", "+5", "007", "9007199254740993", "١٢"),
    );
    fc.assert(
      fc.property(numberish, fc.integer({ min: 0, max: 10 }), (value, min) => {
        const result = batonOnly(() => intOption(value, "port", min));
        if (result instanceof BatonError) {
          assert.equal(result.code, "BATON_USAGE");
          assert.match(result.message, /--port/);
          return;
        }
        assert.ok(result !== undefined && Number.isSafeInteger(result) && result >= min, `accepted ${value}`);
        assert.match(value, /^[0-9]+$/, `accepted ${JSON.stringify(value)} as ${result}`);
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary", maxLength: 20 }), { maxLength: 5 }), (values) => {
        for (const item of listOption(values)) assert.ok(item !== "" && item === item.trim() && !item.includes(","));
      }),
      { numRuns: RUNS },
    );
  });

  test("config:set KEY=VALUE pairs: valid names and values, or BATON_USAGE naming the pair", () => {
    const pair = fc.oneof(
      fc.string({ unit: "binary", maxLength: 30 }),
      fc
        .tuple(
          fc.oneof(
            fc.constantFrom("A", "DATABASE_URL", "_x", "__proto__", "constructor", "1A", "", "A B"),
            fc.string(),
          ),
          fc.string({ unit: "binary", maxLength: 30 }),
        )
        .map(([k, v]) => `${k}=${v}`),
    );
    fc.assert(
      fc.property(fc.array(pair, { minLength: 1, maxLength: 6 }), (pairs) => {
        const result = batonOnly(() => parseConfigPairs(pairs));
        if (result instanceof BatonError) {
          assert.equal(result.code, "BATON_USAGE");
          assert.ok(
            pairs.some((p) => result.message.includes(JSON.stringify(p))),
            `message names no pair: ${result.message}`,
          );
          return;
        }
        const keys = Object.keys(result);
        for (const key of keys) {
          assert.match(key, /^[A-Za-z_][A-Za-z0-9_]*$/);
          assert.ok(!(result[key] as string).includes("\0"));
        }
        // Every pair is kept as an own property (the last one wins), including "__proto__".
        assert.equal(keys.length, new Set(pairs.map((p) => p.slice(0, p.indexOf("=")))).size);
      }),
      { numRuns: RUNS },
    );
  });

  test("migration linter: any SQL text gives violations (syntax-error at most), never a crash", async () => {
    const sqlish = fc.oneof(
      fc.string({ unit: "binary", maxLength: 200 }),
      fc
        .array(
          fc.constantFrom(
            "CREATE TABLE t (id int);",
            "ALTER TABLE t ADD COLUMN c int NOT NULL;",
            "-- baton-lint-disable-next-statement",
            "-- baton-lint-disable",
            "/* unclosed",
            "$$",
            "'",
            "\0",
            "CREATE INDEX i ON t (c);",
            "DO $$ BEGIN PERFORM 1; END $$;",
            "\r\n",
            "\uFEFF",
          ),
          { maxLength: 12 },
        )
        .map((parts) => parts.join("\n")),
    );
    await fc.assert(
      fc.asyncProperty(sqlish, async (sql) => {
        const violations = await batonOnly(() => lintSql(sql, "001.sql"));
        assert.ok(Array.isArray(violations));
        for (const v of violations) {
          assert.equal(v.file, "001.sql");
          assert.ok(typeof v.rule === "string" && v.rule !== "");
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe("fuzz findings: regression tests with the minimal counterexamples", () => {
  test("app.json nested 20,000 deep is a located problem, not a stack overflow", () => {
    const text = `{"description": ${"[".repeat(20_000)}${"]".repeat(20_000)}}`;
    const { problems } = parseAppJson(text);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.line, 1);
    assert.match(problems[0]?.message ?? "", /nested/);
  });

  test('app.json "__proto__" as a formation/healthchecks/env key is checked like any other key', () => {
    const { config, problems } = parseAppJson(
      '{"formation": {"__proto__": {"quantity": 3}}, "env": {"__proto__": "x"}}',
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(Object.keys(config.formation ?? {}), ["__proto__"]);
    assert.deepEqual(Object.keys(config.env ?? {}), ["__proto__"]);
    const procfile = [{ name: "web", command: "node web.js", line: 1 }];
    assert.throws(
      () => resolveConfig({ procfile, appJson: config }),
      (e: unknown) => e instanceof BatonError && /"__proto__" is not in the Procfile/.test(e.message),
    );
  });

  test("app.json duplicate keys are a problem naming both lines", () => {
    const { problems } = parseAppJson('{\n  "name": "a",\n  "name": "b"\n}');
    assert.deepEqual(
      problems.map((p) => [p.line, p.key, p.message]),
      [[3, "name", "duplicate key (first on line 2): JSON keeps only the last one"]],
    );
  });

  test("a NUL byte in a Procfile command or an app.json string is a problem (spawn would throw)", () => {
    const procfile = parseProcfile("web: node\0 web.js");
    assert.deepEqual(procfile.processes, []);
    assert.deepEqual(
      procfile.problems.map((p) => [p.line, p.message]),
      [[1, 'process type "web" has a NUL character in its command']],
    );
    const appJson = parseAppJson('{"baton": {"build": "npm\\u0000 run build"}, "env": {"A": "x\\u0000"}}');
    assert.deepEqual(
      appJson.problems.map((p) => [p.key, p.message]),
      [
        ["env.A", "must not contain a NUL character"],
        ["baton.build", "must not contain a NUL character"],
      ],
    );
  });

  test("a 60,000-key app.json is scanned in linear time (positions are not recounted from the start)", () => {
    const env = Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`K${i}`, "v"]));
    const { problems, keyLines } = parseAppJson(JSON.stringify({ env }, null, 1));
    assert.deepEqual(problems, []);
    assert.equal(keyLines.get("env.K59999"), 60_002);
  });

  test("a health check, smoke or warm-up path with a space is a problem (node:http would throw on it)", () => {
    const { problems } = parseAppJson(
      '{"healthchecks": {"web": [{"type": "startup", "path": "/he alth"}]}, "baton": {"smoke": [{"path": "/a\\tb"}], "warmup": {"paths": ["GET /x y"]}}}',
    );
    assert.deepEqual(
      problems.map((p) => p.key),
      ["healthchecks.web[0].path", "baton.warmup.paths[0]", "baton.smoke[0].path"],
    );
  });

  test('integer options reject "", " 7", "0x10", "1e3" instead of reading them as numbers', () => {
    for (const value of ["", " 7", "0x10", "1e3", "9007199254740993"]) {
      assert.throws(
        () => intOption(value, "port"),
        (e: unknown) => e instanceof BatonError && e.code === "BATON_USAGE",
        value,
      );
    }
    assert.equal(intOption("007", "port"), 7);
  });

  test('config:set keeps "__proto__=x" and rejects a bad name with the pair in the message', () => {
    assert.deepEqual(Object.keys(parseConfigPairs(["__proto__=x", "A=1", "A=2"])), ["__proto__", "A"]);
    assert.throws(
      () => parseConfigPairs(["1A=x"]),
      (e: unknown) => e instanceof BatonError && e.message.includes('"1A=x"'),
    );
  });
});
