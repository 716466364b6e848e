import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "domain-constraint-without-not-valid";

test("domain-constraint-without-not-valid: flags a domain CHECK added without NOT VALID, and SET NOT NULL", async () => {
  const found = await violationsOf(
    RULE,
    "ALTER DOMAIN positive_amount ADD CONSTRAINT positive_amount_check CHECK (VALUE > 0);\nALTER DOMAIN code SET NOT NULL;",
  );
  assert.deepEqual(summarize(found), [`1:${RULE}`, `2:${RULE}`]);
  assert.match(found[0]?.lock ?? "", /^SHARE on every table with a column of type positive_amount/);
  assert.match(
    found[0]?.safe ?? "",
    /CHECK \(<condition>\) NOT VALID;[\s\S]*VALIDATE CONSTRAINT positive_amount_check;/,
  );
  assert.match(found[1]?.safe ?? "", /CHECK \(VALUE IS NOT NULL\) NOT VALID/);
});

test("domain-constraint-without-not-valid: NOT VALID then VALIDATE passes", async () => {
  const sql = [
    "ALTER DOMAIN positive_amount ADD CONSTRAINT positive_amount_check CHECK (VALUE > 0) NOT VALID;",
    "ALTER DOMAIN positive_amount VALIDATE CONSTRAINT positive_amount_check;",
    "ALTER DOMAIN positive_amount DROP NOT NULL;",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, sql), []);
});
