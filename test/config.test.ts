import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadAppConfig, parseAppJson, parseProcfile, resolveConfig } from "../src/config/index.js";
import type { ConfigProblem } from "../src/config/problems.js";
import { BatonError } from "../src/core/errors.js";
import { routerRoute } from "../src/deploy/app-admin.js";

const HELLO = fileURLToPath(new URL("../../examples/hello", import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function appDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "baton-config-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function problemsOf(dir: string): Promise<{ error: BatonError; problems: ConfigProblem[] }> {
  try {
    await loadAppConfig(dir);
  } catch (error) {
    assert.ok(error instanceof BatonError);
    assert.equal(error.code, "BATON_CONFIG_INVALID");
    return { error, problems: error.details.problems as ConfigProblem[] };
  }
  assert.fail("expected BATON_CONFIG_INVALID");
}

test("examples/hello loads with its formation, health check and warm-up", async () => {
  const config = await loadAppConfig(HELLO);
  assert.equal(config.name, "hello");
  assert.deepEqual(
    config.processes.map((p) => [p.name, p.command, p.quantity]),
    [["web", "node server.js", 2]],
  );
  assert.equal(config.readiness.length, 1);
  assert.deepEqual(
    { ...config.readiness[0] },
    {
      name: "web check",
      path: "/health",
      attempts: 3,
      waitMs: 5000,
      timeoutMs: 5000,
      initialDelayMs: 0,
      content: undefined,
      port: undefined,
      source: "app.json",
    },
  );
  assert.deepEqual(config.warmup?.requests, [
    { method: "GET", path: "/", body: undefined },
    { method: "POST", path: "/api/echo", body: '{"order":42,"items":["a","b"]}' },
    { method: "GET", path: "/slow?ms=0", body: undefined },
  ]);
  assert.equal(config.warmup?.count, 300);
  assert.equal(config.warmup?.concurrency, 4);
  assert.equal(config.strategy, "preboot");
  // hello's package.json has no build script and no lockfile.
  assert.equal(config.buildCommand, "npm install");
});

test("a Procfile + package.json app resolves with defaults", async () => {
  const dir = appDir({
    Procfile: "web: npm start\nworker: node worker.js\nrelease: node migrate.js\n",
    "package.json": JSON.stringify({ name: "x", scripts: { build: "tsc", start: "node ." } }),
    "package-lock.json": "{}",
  });
  const config = await loadAppConfig(dir);
  assert.equal(config.buildCommand, "npm ci && npm run build");
  assert.deepEqual(config.defaultBuild, { install: "npm ci", runBuildScript: true });
  assert.equal(config.buildCache, true);
  assert.deepEqual(
    config.processes.map((p) => [p.name, p.quantity]),
    [
      ["web", 1],
      ["worker", 0],
    ],
  );
  assert.equal(config.releaseCommand, "node migrate.js");
  assert.equal(config.readiness.length, 1);
  assert.equal(config.readiness[0]?.path, "/");
  assert.equal(config.readiness[0]?.attempts, 5);
  assert.equal(config.readiness[0]?.timeoutMs, 5000);
  assert.equal(config.readiness[0]?.source, "default");
  assert.equal(config.warmup, undefined);
  assert.equal(config.strategy, "preboot");
  assert.deepEqual({ ...config.timeouts }, { drainMs: 30_000, stopMs: 10_000, bootMs: 60_000, releaseMs: 300_000 });
  assert.equal(config.keepReleases, 5);
});

test("baton.buildCache turns the build cache off; baton.build leaves no default build to cache", () => {
  const procfile = parseProcfile("web: node server.js\n").processes;
  const packageJson = { name: "x", scripts: {} };
  const off = resolveConfig({ procfile, packageJson, appJson: { baton: { buildCache: false } } });
  assert.equal(off.buildCache, false);
  assert.deepEqual(off.defaultBuild, { install: "npm install", runBuildScript: false });
  const own = resolveConfig({ procfile, packageJson, appJson: { baton: { build: "make" } } });
  assert.equal(own.buildCommand, "make");
  assert.equal(own.defaultBuild, undefined);
  const { problems } = parseAppJson(JSON.stringify({ baton: { buildCache: "no" } }));
  assert.match(
    problems.map((p) => `${p.key}: ${p.message}`).join("\n"),
    /baton\.buildCache: .*(true or false|boolean)/,
  );
});

test("a worker-only app has no health checks; formation scales it", () => {
  const { processes, problems } = parseProcfile("# jobs\n\nworker: node worker.js\n");
  assert.deepEqual(problems, []);
  const config = resolveConfig({ procfile: processes, appJson: { formation: { worker: { quantity: 2 } } } });
  assert.deepEqual(config.readiness, []);
  assert.equal(config.processes[0]?.quantity, 2);
  assert.equal(config.buildCommand, undefined);
});

test("warm-up requests: paths, METHOD paths and objects with a body; bad ones are listed", () => {
  const good = parseAppJson(
    JSON.stringify({
      baton: { warmup: { paths: ["/", "PUT /cart", { method: "POST", path: "/orders", body: "{}" }] } },
    }),
  );
  assert.deepEqual(good.problems, []);
  const { processes } = parseProcfile("web: node server.js\n");
  const config = resolveConfig({ procfile: processes, appJson: good.config });
  assert.deepEqual(config.warmup?.requests, [
    { method: "GET", path: "/", body: undefined },
    { method: "PUT", path: "/cart", body: undefined },
    { method: "POST", path: "/orders", body: "{}" },
  ]);
  const bad = parseAppJson(
    JSON.stringify({
      baton: { warmup: { paths: ["cart", "post /x", { method: "post", path: "/y" }, { path: "/z", bdy: "" }] } },
    }),
  );
  assert.deepEqual(
    bad.problems.map((p) => p.key),
    ["baton.warmup.paths[0]", "baton.warmup.paths[1]", "baton.warmup.paths[2].method", "baton.warmup.paths[3].bdy"],
  );
});

test("warm-up CPU: idle unless app.json says normal; anything else is listed", () => {
  const { processes } = parseProcfile("web: node server.js\n");
  const cpuOf = (warmup: Record<string, unknown>) => {
    const parsed = parseAppJson(JSON.stringify({ baton: { warmup: { paths: ["/"], ...warmup } } }));
    assert.deepEqual(parsed.problems, []);
    return resolveConfig({ procfile: processes, appJson: parsed.config }).warmup?.cpu;
  };
  assert.equal(cpuOf({}), "idle");
  assert.equal(cpuOf({ cpu: "normal" }), "normal");
  assert.equal(cpuOf({ cpu: "idle" }), "idle");
  const bad = parseAppJson(JSON.stringify({ baton: { warmup: { paths: ["/"], cpu: "low" } } }));
  assert.deepEqual(
    bad.problems.map((p) => [p.key, p.message]),
    [["baton.warmup.cpu", 'must be "idle" or "normal", got "low"']],
  );
});

test("baton.https: redirect and HSTS resolve with defaults off; bad values are listed by key", () => {
  const { processes } = parseProcfile("web: node server.js\n");
  const none = resolveConfig({ procfile: processes, appJson: {} });
  assert.deepEqual(none.https, { redirect: false, hstsMaxAgeS: 0 });
  const good = parseAppJson(JSON.stringify({ baton: { https: { redirect: true, hstsMaxAgeS: 31_536_000 } } }));
  assert.deepEqual(good.problems, []);
  const config = resolveConfig({ procfile: processes, appJson: good.config });
  assert.deepEqual(config.https, { redirect: true, hstsMaxAgeS: 31_536_000 });
  const bad = parseAppJson(
    '{\n  "baton": {\n    "https": { "redirect": "yes", "hstsMaxAgeS": -1, "redirct": true }\n  }\n}\n',
  );
  assert.deepEqual(
    bad.problems.map((p) => [p.key, p.line, p.message]),
    [
      ["baton.https.redirct", 3, 'unknown https key; did you mean "redirect"?'],
      ["baton.https.redirect", 3, "must be true or false, got string"],
      ["baton.https.hstsMaxAgeS", 3, "must be an integer from 0 to 63072000, got -1"],
    ],
  );
  assert.deepEqual(
    parseAppJson(JSON.stringify({ baton: { https: true } })).problems.map((p) => p.message),
    ["must be an object, got boolean"],
  );
});

test("baton.router: a per-instance request limit and hold timeout reach the router's app spec; bad values are listed by key", () => {
  const { processes } = parseProcfile("web: node server.js\n");
  const none = resolveConfig({ procfile: processes, appJson: {} });
  assert.deepEqual(none.router, { maxRequestsPerInstance: 0 });
  assert.deepEqual(routerRoute(none), { maxRequestsPerInstance: 0, holdTimeoutMs: null });
  const good = parseAppJson(JSON.stringify({ baton: { router: { maxRequestsPerInstance: 8, holdTimeoutMs: 5_000 } } }));
  assert.deepEqual(good.problems, []);
  const config = resolveConfig({ procfile: processes, appJson: good.config });
  assert.deepEqual(routerRoute(config), { maxRequestsPerInstance: 8, holdTimeoutMs: 5_000 });
  // A release stored before the key existed has no `router` in its config.
  const { router: _, ...older } = config;
  assert.deepEqual(routerRoute(older as typeof config), { maxRequestsPerInstance: 0, holdTimeoutMs: null });
  const bad = parseAppJson(
    '{\n  "baton": {\n    "router": { "maxRequestsPerInstance": 1.5, "holdTimeoutMs": 700000, "maxRequestPerInstance": 2 }\n  }\n}\n',
  );
  assert.deepEqual(
    bad.problems.map((p) => [p.key, p.line, p.message]),
    [
      ["baton.router.maxRequestPerInstance", 3, 'unknown router key; did you mean "maxRequestsPerInstance"?'],
      ["baton.router.maxRequestsPerInstance", 3, "must be an integer from 0 to 100000, got 1.5"],
      ["baton.router.holdTimeoutMs", 3, "must be an integer from 0 to 600000, got 700000"],
    ],
  );
});

test("every problem in Procfile and app.json is reported with its line", async () => {
  const procfile = [
    "web: node server.js",
    "",
    "# a comment",
    "bad name: x",
    "worker:",
    "web: node other.js",
    "noColon",
  ];
  const appJson = `{
  "name": "demo",
  "formation": { "web": { "quantity": -1 } },
  "baton": {
    "strategy": "blue-green",
    "warmup": { "paths": ["/"], "count": "many" },
    "drainTimeoutMs": 1.5
  }
}
`;
  const { error, problems } = await problemsOf(appDir({ Procfile: procfile.join("\n"), "app.json": appJson }));
  const short = problems.map((p) => [p.file, p.line, p.key]);
  assert.deepEqual(short, [
    ["Procfile", 4, undefined],
    ["Procfile", 5, undefined],
    ["Procfile", 6, undefined],
    ["Procfile", 7, undefined],
    ["app.json", 3, "formation.web.quantity"],
    ["app.json", 5, "baton.strategy"],
    ["app.json", 6, "baton.warmup.count"],
    ["app.json", 7, "baton.drainTimeoutMs"],
  ]);
  assert.match(problems[2]?.message ?? "", /already declared on line 1/);
  assert.match(problems[1]?.message ?? "", /empty command/);
  const lines = error.message.split("\n").slice(1);
  assert.equal(lines.length, 8);
  assert.match(lines[0] ?? "", /^Procfile:4: /);
  assert.match(lines[6] ?? "", /^app\.json:6: baton\.warmup\.count: must be an integer/);
});

test("invalid JSON reports line and column", () => {
  const bad = parseAppJson('{\n  "name": "x",\n  "formation": { "web": x }\n}\n');
  assert.equal(bad.problems.length, 1);
  assert.equal(bad.problems[0]?.line, 3);
  assert.equal(bad.problems[0]?.column, 25);
  const trailing = parseAppJson('{\n  "name": "x",\n}');
  assert.deepEqual([trailing.problems[0]?.line, trailing.problems[0]?.column], [3, 1]);
  const unclosed = parseAppJson('{\n  "name": "x"\n');
  assert.equal(unclosed.problems[0]?.line, 3);
});

test("a typo'd key is reported with the nearest known key", () => {
  const result = parseAppJson('{\n  "formaton": {},\n  "baton": { "warmpu": { "paths": ["/"] } }\n}');
  assert.deepEqual(
    result.problems.map((p) => [p.line, p.key, p.message]),
    [
      [2, "formaton", 'unknown app.json key; did you mean "formation"?'],
      [3, "baton.warmpu", 'unknown baton key; did you mean "warmup"?'],
    ],
  );
});

test("app.json naming process types the Procfile lacks is a problem", async () => {
  const appJson = '{\n  "formation": { "clock": { "quantity": 1 } },\n  "baton": { "singleton": ["cron"] }\n}';
  const { problems } = await problemsOf(appDir({ Procfile: "web: node .\n", "app.json": appJson }));
  assert.deepEqual(
    problems.map((p) => [p.line, p.key]),
    [
      [2, "formation.clock"],
      [3, "baton.singleton[0]"],
    ],
  );
});

test("a missing Procfile is reported", async () => {
  const { problems } = await problemsOf(appDir({ "package.json": "{}" }));
  assert.equal(problems[0]?.file, "Procfile");
});

test("the resolved config is deeply frozen", async () => {
  const config = await loadAppConfig(HELLO);
  assert.ok(Object.isFrozen(config));
  assert.throws(() => {
    (config as { strategy: string }).strategy = "rolling";
  }, TypeError);
  assert.throws(() => {
    (config.processes[0] as { quantity: number }).quantity = 9;
  }, TypeError);
  assert.throws(() => {
    (config.timeouts as { drainMs: number }).drainMs = 1;
  }, TypeError);
  assert.throws(() => (config.warmup!.requests as unknown[]).push({ method: "GET", path: "/x" }), TypeError);
});
