import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { BatonError, ERROR_CATALOG } from "../src/core/errors.js";

const DOC = fileURLToPath(new URL("../../docs/errors.md", import.meta.url));

test("docs/errors.md lists exactly the codes of the catalog, with the same HTTP status", () => {
  const rows = new Map<string, number>();
  for (const line of readFileSync(DOC, "utf8").split("\n")) {
    const match = /^\| `(BATON_[A-Z_]+)` \| (\d+) \|/.exec(line);
    if (match) rows.set(match[1] as string, Number(match[2]));
  }
  const catalog = new Map(Object.entries(ERROR_CATALOG).map(([code, { status }]) => [code, status]));
  assert.deepEqual(
    [...rows.keys()].sort(),
    [...catalog.keys()].sort(),
    "codes in docs/errors.md and src/core/errors.ts differ",
  );
  for (const [code, status] of catalog) assert.equal(rows.get(code), status, `HTTP status of ${code} differs`);
});

test("a BatonError carries its code, status, hint and cause", () => {
  const cause = new Error("disk on fire");
  const error = new BatonError("BATON_STATE_CORRUPT", "table unreadable", { cause, hint: "move it aside" });
  assert.equal(error.code, "BATON_STATE_CORRUPT");
  assert.equal(error.status, 500);
  assert.equal(error.cause, cause);
  assert.deepEqual(error.toJSON(), { code: "BATON_STATE_CORRUPT", message: "table unreadable", hint: "move it aside" });
});
