import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { RULES } from "../src/lint/registry.js";
import { INPUT_RULE_IDS } from "../src/lint/runner.js";

const ROOT = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(fileURLToPath(new URL(path, ROOT)), "utf8");

test("registry: rule ids are unique kebab-case and do not clash with the input ids", () => {
  const ids = RULES.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^[a-z]+(-[a-z]+)*$/);
  for (const id of INPUT_RULE_IDS) assert.ok(!ids.includes(id), id);
});

test("registry: every rule has its source file, its test file and its docs page", () => {
  for (const rule of RULES) {
    for (const path of [`src/lint/rules/${rule.id}.ts`, `test/lint-${rule.id}.test.ts`, `docs/rules/${rule.id}.md`]) {
      assert.ok(existsSync(fileURLToPath(new URL(path, ROOT))), `${rule.id}: ${path} is missing`);
    }
    assert.match(read(`docs/rules/${rule.id}.md`), new RegExp(`^# ${rule.id}\\n`), `docs/rules/${rule.id}.md title`);
  }
});

test("registry: docs/lint.md lists exactly the rules, with their group and severity", () => {
  const rows = new Map<string, string>();
  for (const line of read("docs/lint.md").split("\n")) {
    const match = /^\| \[`([a-z-]+)`\]\(rules\/\1\.md\) \| (compat|lock) \| (error|warning) \|/.exec(line);
    if (match) rows.set(match[1] as string, `${match[2]} ${match[3]}`);
  }
  assert.deepEqual([...rows.keys()].sort(), RULES.map((r) => r.id).sort());
  for (const rule of RULES) assert.equal(rows.get(rule.id), `${rule.group} ${rule.severity}`, rule.id);
});
