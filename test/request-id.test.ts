// X-Request-Id values the router makes (src/router/request-id.ts): version 4 UUIDs, never repeated,
// across refills of the random pool behind them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { newRequestId } from "../src/router/request-id.js";

test("request ids are distinct version 4 UUIDs across refills of their random pool", () => {
  const ids = Array.from({ length: 2_000 }, () => newRequestId());
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new Set(ids).size, ids.length);
  // Every hex digit turns up in the random part: the bytes are not stuck (a pool never refilled).
  const digits = new Set(ids.join("").replaceAll("-", ""));
  assert.equal(digits.size, 16);
});
