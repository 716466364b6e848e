import assert from "node:assert/strict";
import { test } from "node:test";
import { summarize, violationsOf } from "../src/lint/testing.js";

const RULE = "truncate";

test("truncate: flags TRUNCATE of existing tables, one per table", async () => {
  const found = await violationsOf(RULE, "TRUNCATE TABLE carts, cart_items RESTART IDENTITY;");
  assert.deepEqual(summarize(found), ["1:truncate", "1:truncate"]);
  assert.match(found[0]?.lock ?? "", /^ACCESS EXCLUSIVE on carts/);
  assert.match(found[0]?.safe ?? "", /batches/);
});

test("truncate: batched deletes pass, and so does truncating a table this file created", async () => {
  const sql = [
    "DELETE FROM carts WHERE ctid IN (SELECT ctid FROM carts WHERE updated_at < now() - interval '90 days' LIMIT 10000);",
    "CREATE TABLE import_buffer (line text);",
    "TRUNCATE import_buffer;",
  ].join("\n");
  assert.deepEqual(await violationsOf(RULE, sql), []);
});
