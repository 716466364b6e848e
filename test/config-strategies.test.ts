import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  type Amount,
  batchSizes,
  parseAppJson,
  parseProcfile,
  type ResolvedConfig,
  resolveConfig,
  withStrategyDefaults,
} from "../src/config/index.js";

const WEB = parseProcfile("web: node server.js\n").processes;

/** Resolve an app.json's `baton` section, failing the test on any problem. */
function resolveBaton(baton: unknown): ResolvedConfig {
  const parsed = parseAppJson(JSON.stringify({ baton }));
  assert.deepEqual(parsed.problems, []);
  return resolveConfig({ procfile: WEB, appJson: parsed.config });
}

/** [line, key, message] of every problem in an app.json written one key per line. */
function problemsOf(text: string): Array<[number | undefined, string | undefined, string]> {
  return parseAppJson(text).problems.map((p) => [p.line, p.key, p.message]);
}

const DEFAULT_STEPS = [
  { weight: 10, bakeMs: 60_000 },
  { weight: 50, bakeMs: 60_000 },
];
const DEFAULT_ROLLBACK = {
  auto: true,
  minRequests: 100,
  errorRateIncrease: 1,
  p99Ratio: 2,
  p99MinIncreaseMs: 25,
  maxCrashes: 0,
};

test("without the strategy keys, every one resolves to its default", () => {
  const config = resolveConfig({ procfile: WEB });
  assert.deepEqual(config.rolling, { maxSurge: { percent: 25 }, maxUnavailable: { count: 0 } });
  assert.deepEqual(config.canary, { steps: DEFAULT_STEPS, sticky: true });
  assert.equal(config.bakeMs, 60_000);
  assert.deepEqual(config.rollback, DEFAULT_ROLLBACK);
  // Empty sections are defaults too.
  const empty = resolveBaton({ rolling: {}, canary: {}, rollback: {} });
  assert.deepEqual([empty.rolling, empty.canary, empty.rollback], [config.rolling, config.canary, config.rollback]);
});

test("every strategy key is read as written", () => {
  const config = resolveBaton({
    strategy: "canary",
    rolling: { maxSurge: 2, maxUnavailable: "50%" },
    canary: { steps: [{ weight: 5, bakeMs: 0 }, { weight: 25, bakeMs: 86_400_000 }, 75], sticky: false },
    bakeMs: 0,
    rollback: {
      auto: false,
      minRequests: 10,
      errorRateIncrease: 0.5,
      p99Ratio: 1.5,
      p99MinIncreaseMs: 0,
      maxCrashes: 3,
    },
  });
  assert.equal(config.strategy, "canary");
  assert.deepEqual(config.rolling, { maxSurge: { count: 2 }, maxUnavailable: { percent: 50 } });
  assert.deepEqual(config.canary, {
    steps: [
      { weight: 5, bakeMs: 0 },
      { weight: 25, bakeMs: 86_400_000 },
      { weight: 75, bakeMs: 60_000 },
    ],
    sticky: false,
  });
  assert.equal(config.bakeMs, 0);
  assert.deepEqual(config.rollback, {
    auto: false,
    minRequests: 10,
    errorRateIncrease: 0.5,
    p99Ratio: 1.5,
    p99MinIncreaseMs: 0,
    maxCrashes: 3,
  });
  assert.ok(Object.isFrozen(config.canary.steps[0]));
  assert.ok(Object.isFrozen(config.rolling.maxSurge));
});

test("partial sections keep the defaults of the keys they leave out", () => {
  const config = resolveBaton({ rolling: { maxUnavailable: 1 }, canary: { sticky: false }, rollback: { p99Ratio: 3 } });
  assert.deepEqual(config.rolling, { maxSurge: { percent: 25 }, maxUnavailable: { count: 1 } });
  assert.deepEqual(config.canary, { steps: DEFAULT_STEPS, sticky: false });
  assert.deepEqual(config.rollback, { ...DEFAULT_ROLLBACK, p99Ratio: 3 });
});

test("bare numbers in canary.steps are weights with the default bake", () => {
  const config = resolveBaton({ canary: { steps: [1, 99] } });
  assert.deepEqual(config.canary.steps, [
    { weight: 1, bakeMs: 60_000 },
    { weight: 99, bakeMs: 60_000 },
  ]);
});

test("each invalid strategy key is reported with its key path and line", () => {
  const text = `{
  "baton": {
    "rolling": {
      "maxSurge": -1,
      "maxUnavailable": "150%"
    },
    "canary": {
      "steps": [0, { "weight": 100 }, { "weight": 20, "bakeMs": 86400001 }, "30", {}],
      "sticky": "yes"
    },
    "bakeMs": -5,
    "rollback": {
      "auto": 1,
      "minRequests": 9,
      "errorRateIncrease": 101,
      "p99Ratio": 0.5,
      "p99MinIncreaseMs": 2.5,
      "maxCrashes": 1001
    }
  }
}`;
  const problems = problemsOf(text);
  assert.deepEqual(
    problems.map(([line, key]) => [line, key]),
    [
      [4, "baton.rolling.maxSurge"],
      [5, "baton.rolling.maxUnavailable"],
      [8, "baton.canary.steps[0]"],
      [8, "baton.canary.steps[1].weight"],
      [8, "baton.canary.steps[2].bakeMs"],
      [8, "baton.canary.steps[3]"],
      [8, "baton.canary.steps[4].weight"],
      [9, "baton.canary.sticky"],
      [11, "baton.bakeMs"],
      [13, "baton.rollback.auto"],
      [14, "baton.rollback.minRequests"],
      [15, "baton.rollback.errorRateIncrease"],
      [16, "baton.rollback.p99Ratio"],
      [17, "baton.rollback.p99MinIncreaseMs"],
      [18, "baton.rollback.maxCrashes"],
    ],
  );
  const message = (key: string): string => problems.find(([, k]) => k === key)?.[2] ?? "";
  assert.match(message("baton.rolling.maxSurge"), /integer >= 0 or a percentage from "0%" to "100%", got -1/);
  assert.match(message("baton.canary.steps[0]"), /integer from 1 to 99, got 0/);
  assert.match(message("baton.canary.steps[3]"), /must be a weight or/);
  assert.equal(message("baton.canary.steps[4].weight"), "is required");
  assert.match(message("baton.rollback.p99Ratio"), /number from 1 to 100, got 0\.5/);
});

test("percentages must be whole, written with %, and at most 100%", () => {
  for (const bad of ["25", "25.5%", " 25%", "101%", "%", 1.5, true, null]) {
    const problems = parseAppJson(JSON.stringify({ baton: { rolling: { maxSurge: bad } } })).problems;
    assert.deepEqual(
      problems.map((p) => p.key),
      ["baton.rolling.maxSurge"],
      `maxSurge ${JSON.stringify(bad)}`,
    );
  }
  assert.deepEqual(resolveBaton({ rolling: { maxSurge: "100%", maxUnavailable: "0%" } }).rolling, {
    maxSurge: { percent: 100 },
    maxUnavailable: { percent: 0 },
  });
});

test("canary.steps: weights must increase, and there are 1 to 10 steps", () => {
  const stepsProblems = (steps: unknown): Array<[string | undefined, string]> =>
    parseAppJson(JSON.stringify({ baton: { canary: { steps } } })).problems.map((p) => [p.key, p.message]);
  assert.deepEqual(stepsProblems([10, 10]), [
    ["baton.canary.steps[1]", "must be greater than the previous step's weight (10), got 10"],
  ]);
  assert.deepEqual(stepsProblems([{ weight: 50 }, { weight: 20 }, 60]), [
    ["baton.canary.steps[1].weight", "must be greater than the previous step's weight (50), got 20"],
  ]);
  assert.deepEqual(
    stepsProblems([]).map(([key]) => key),
    ["baton.canary.steps"],
  );
  assert.deepEqual(
    stepsProblems([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).map(([key]) => key),
    ["baton.canary.steps"],
  );
  assert.deepEqual(
    stepsProblems({ weight: 10 }).map(([key]) => key),
    ["baton.canary.steps"],
  );
  assert.deepEqual(stepsProblems([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), []);
});

test("unknown keys in the strategy sections are reported, with a did-you-mean", () => {
  const text = `{
  "baton": {
    "rolling": { "maxSurg": 1 },
    "canary": { "stiky": true, "steps": [{ "wieght": 10 }] },
    "bakeMS": 0,
    "rollback": { "maxCrash": 1 }
  }
}`;
  assert.deepEqual(problemsOf(text), [
    [5, "baton.bakeMS", 'unknown baton key; did you mean "bakeMs"?'],
    [3, "baton.rolling.maxSurg", 'unknown rolling key; did you mean "maxSurge"?'],
    [4, "baton.canary.stiky", 'unknown canary key; did you mean "sticky"?'],
    [4, "baton.canary.steps[0].wieght", 'unknown canary step key; did you mean "weight"?'],
    [4, "baton.canary.steps[0].weight", "is required"],
    [6, "baton.rollback.maxCrash", 'unknown rollback key; did you mean "maxCrashes"?'],
  ]);
});

test("maxSurge and maxUnavailable both 0 is a problem, however it is written", () => {
  const text = '{\n  "baton": {\n    "rolling": { "maxSurge": 0, "maxUnavailable": 0 }\n  }\n}';
  const problems = problemsOf(text);
  assert.deepEqual(
    problems.map(([line, key]) => [line, key]),
    [[3, "baton.rolling"]],
  );
  assert.match(problems[0]?.[2] ?? "", /cannot both be 0/);
  // maxUnavailable defaults to 0, so a maxSurge of 0 alone is the same mistake.
  for (const rolling of [{ maxSurge: "0%" }, { maxSurge: 0, maxUnavailable: "0%" }]) {
    const keys = parseAppJson(JSON.stringify({ baton: { rolling } })).problems.map((p) => p.key);
    assert.deepEqual(keys, ["baton.rolling"], JSON.stringify(rolling));
  }
  // One invalid value is reported on its own, not as "both 0" too.
  const keys = parseAppJson(JSON.stringify({ baton: { rolling: { maxSurge: 0, maxUnavailable: -1 } } })).problems.map(
    (p) => p.key,
  );
  assert.deepEqual(keys, ["baton.rolling.maxUnavailable"]);
  assert.deepEqual(resolveBaton({ rolling: { maxSurge: 0, maxUnavailable: 1 } }).rolling, {
    maxSurge: { count: 0 },
    maxUnavailable: { count: 1 },
  });
});

test("batchSizes follows Kubernetes, keeping one old instance serving", () => {
  // Amounts as app.json writes them: a number is a count, "N%" a share of the quantity.
  const amount = (written: number | string): Amount =>
    typeof written === "number" ? { count: written } : { percent: Number.parseInt(written, 10) };
  // quantity, maxSurge, maxUnavailable → surge, unavailable
  const table: Array<[number, number | string, number | string, number, number, string]> = [
    [4, "25%", 0, 1, 0, "the defaults"],
    [4, "50%", 0, 2, 0, "a surge percentage rounds up"],
    [4, 0, 1, 0, 1, "counts are taken as they are"],
    [10, "25%", "25%", 3, 2, "surge rounds up, unavailable down"],
    [1, "25%", 0, 1, 0, "the defaults on one instance"],
    [3, "0%", "10%", 1, 0, "both rounding to 0 means a surge of 1"],
    [4, 0, "100%", 0, 3, "one old instance keeps serving"],
    [1, 0, 1, 1, 0, "the only old instance stays until its replacement is proven"],
    [4, 10, 0, 4, 0, "no more new instances than the quantity"],
    [0, "25%", 0, 0, 0, "nothing to replace"],
  ];
  for (const [quantity, maxSurge, maxUnavailable, surge, unavailable, why] of table) {
    const rolling = { maxSurge: amount(maxSurge), maxUnavailable: amount(maxUnavailable) };
    assert.deepEqual(batchSizes(quantity, rolling), { surge, unavailable }, why);
  }
  assert.deepEqual(batchSizes(4, resolveConfig({ procfile: WEB }).rolling), { surge: 1, unavailable: 0 });
});

test("withStrategyDefaults fills what configs stored by earlier versions lack", () => {
  const current = resolveBaton({ strategy: "rolling", rollback: { maxCrashes: 2 } });
  // An old release's config as the store gives it back: JSON without the strategy keys.
  const old = JSON.parse(JSON.stringify(current)) as Record<string, unknown>;
  for (const key of ["rolling", "canary", "bakeMs", "rollback"]) delete old[key];
  const filled = withStrategyDefaults(old as unknown as ResolvedConfig);
  const defaults = resolveConfig({ procfile: WEB });
  assert.deepEqual(filled.rolling, defaults.rolling);
  assert.deepEqual(filled.canary, defaults.canary);
  assert.equal(filled.bakeMs, 60_000);
  assert.deepEqual(filled.rollback, DEFAULT_ROLLBACK);
  assert.equal(filled.strategy, "rolling");
  assert.deepEqual(filled.processes, old.processes);
  assert.ok(Object.isFrozen(filled) && Object.isFrozen(filled.canary.steps));
  assert.equal(Object.hasOwn(old, "rolling"), false, "the stored object is left as it is");

  // A section stored without a key a later version added gets just that key.
  const partial = { ...JSON.parse(JSON.stringify(current)), rollback: { auto: false } };
  assert.deepEqual(withStrategyDefaults(partial).rollback, { ...DEFAULT_ROLLBACK, auto: false });

  // A complete config comes back equal.
  assert.deepEqual(withStrategyDefaults(current), current);
});

test("the canary example in docs/app-format.md is valid and means what the docs say", () => {
  const docs = readFileSync(new URL("../../docs/app-format.md", import.meta.url), "utf8");
  const section = docs.slice(docs.indexOf("## Strategies and automatic rollback"));
  const example = /```json\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(example !== undefined, "the section has a JSON example");
  const parsed = parseAppJson(example);
  assert.deepEqual(parsed.problems, []);
  const config = resolveConfig({ procfile: WEB, appJson: parsed.config });
  assert.equal(config.strategy, "canary");
  assert.deepEqual(config.canary.steps, [
    { weight: 5, bakeMs: 60_000 },
    { weight: 25, bakeMs: 120_000 },
    { weight: 50, bakeMs: 300_000 },
  ]);
  assert.equal(config.bakeMs, 300_000);
});
