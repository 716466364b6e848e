import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HoldQueue } from "../src/router/hold.js";
import { resolveRouterOptions } from "../src/router/options.js";
import { Pool } from "../src/router/pool.js";
import { bucketOf, LATENCY_BUCKETS_MS, quantileFromBuckets, ReleaseStats } from "../src/router/stats.js";
import { Target } from "../src/router/target.js";
import { FrameCursor, serverCloseFrame } from "../src/router/ws-frames.js";

const target = (port: number) => new Target("127.0.0.1", port, { maxFreeSockets: 1, freeSocketTimeoutMs: 1000 });

/** A WebSocket frame as a server sends it (unmasked) or a client (masked). */
function frame(payloadLength: number, masked = false): Buffer {
  const lengthBytes = payloadLength < 126 ? 0 : payloadLength < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0));
  header[0] = 0x82;
  header[1] = (masked ? 0x80 : 0) | (lengthBytes === 0 ? payloadLength : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) header.writeUInt16BE(payloadLength, 2);
  if (lengthBytes === 8) header.writeBigUInt64BE(BigInt(payloadLength), 2);
  return Buffer.concat([header, Buffer.alloc(payloadLength, 7)]);
}

describe("FrameCursor follows WebSocket frame boundaries", () => {
  test("whole frames of every length encoding leave it at a boundary", () => {
    const cursor = new FrameCursor();
    for (const n of [0, 5, 125, 126, 300, 65535, 65536, 70000]) {
      cursor.advance(frame(n), false);
      assert.equal(cursor.atBoundary, true, `after a ${n}-byte frame`);
    }
    cursor.advance(frame(10, true), false);
    assert.equal(cursor.atBoundary, true, "after a masked frame");
  });

  test("frames split at every byte still end where they should", () => {
    const bytes = Buffer.concat([frame(3), frame(300), frame(0)]);
    const cursor = new FrameCursor();
    for (let i = 0; i < bytes.length; i++) {
      cursor.advance(bytes.subarray(i, i + 1), false);
      const atEnd = i === 4 || i === 4 + 304 || i === bytes.length - 1;
      assert.equal(cursor.atBoundary, atEnd, `byte ${i}`);
    }
  });

  test("stopAtFirstEnd returns the offset just after the frame in progress", () => {
    const cursor = new FrameCursor();
    const first = frame(200);
    cursor.advance(first.subarray(0, 50), false);
    const rest = Buffer.concat([first.subarray(50), frame(10)]);
    assert.equal(cursor.advance(rest, true), first.length - 50);
    assert.equal(cursor.atBoundary, true);
  });

  test("the router's close frame carries code 1001", () => {
    const close = serverCloseFrame(1001, "instance draining");
    assert.equal(close[0], 0x88);
    assert.equal(close.readUInt16BE(2), 1001);
    assert.equal(close.subarray(4).toString(), "instance draining");
  });
});

describe("Pool.pick: least outstanding requests, random ties", () => {
  test("picks the Target with the fewest requests in flight", () => {
    const [a, b, c] = [target(1), target(2), target(3)];
    a.inFlight = 3;
    b.inFlight = 1;
    c.inFlight = 2;
    assert.equal(new Pool("p", "v1", [a, b, c], undefined).pick(), b);
  });

  test("skips ejected Targets and the excluded one; none left means undefined", () => {
    const [a, b] = [target(1), target(2)];
    a.state = "ejected";
    const pool = new Pool("p", "v1", [a, b], undefined);
    assert.equal(pool.pick(), b);
    assert.equal(pool.pick(b), undefined);
    assert.equal(pool.ready, true);
    b.state = "ejected";
    assert.equal(pool.ready, false);
  });

  test("ties are spread evenly", () => {
    const targets = [target(1), target(2), target(3)];
    const pool = new Pool("p", "v1", targets, undefined);
    const counts = new Map<Target, number>();
    for (let i = 0; i < 3000; i++) {
      const t = pool.pick() as Target;
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    for (const t of targets) assert.ok((counts.get(t) ?? 0) > 800, `a Target got ${counts.get(t)} of 3000`);
  });
});

describe("HoldQueue", () => {
  test("flush resumes waiters in order; the deadline expires the rest; a full queue refuses", async () => {
    const queue = new HoldQueue(2);
    const events: string[] = [];
    const waiter = (name: string) => ({
      resume: () => events.push(`resume ${name}`),
      expire: () => events.push(`expire ${name}`),
    });
    assert.equal(queue.add(waiter("a"), Date.now() + 10_000), true);
    assert.equal(queue.add(waiter("b"), Date.now() + 10_000), true);
    assert.equal(queue.add(waiter("c"), Date.now() + 10_000), false);
    queue.flush();
    assert.deepEqual(events, ["resume a", "resume b"]);
    queue.add(waiter("d"), Date.now() + 20);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(events.at(-1), "expire d");
    assert.equal(queue.size, 0);
  });
});

describe("stats and options", () => {
  test("latency quantiles come from the histogram buckets", () => {
    const stats = new ReleaseStats("v1");
    for (let i = 0; i < 98; i++) stats.recordResponse(200, 3);
    stats.recordResponse(500, 400);
    stats.recordResponse(200, 400);
    const snap = stats.snapshot();
    // The bucket's upper bound: never below the true value, at most one bucket (19%) above it.
    assert.ok(snap.latency.p50Ms >= 3 && snap.latency.p50Ms <= 3 * 1.19, `p50 ${snap.latency.p50Ms}`);
    assert.ok(snap.latency.p99Ms >= 400 && snap.latency.p99Ms <= 400 * 1.19, `p99 ${snap.latency.p99Ms}`);
    assert.equal(snap.statusClasses["5xx"], 1);
    assert.equal(quantileFromBuckets([0, 0], 0.5), -1);
  });

  test("every latency lands in the bucket whose bounds hold it", () => {
    for (const ms of [0, 0.1, 0.25, 0.2501, 0.3, 1, 2, 2.378, 3, 99.99, 100, 430.5, 59_999, 65_000, 1e9]) {
      const i = bucketOf(ms);
      const upper = LATENCY_BUCKETS_MS[i] ?? Number.NaN;
      const lower = i === 0 ? -Infinity : (LATENCY_BUCKETS_MS[i - 1] ?? Number.NaN);
      assert.ok(ms <= upper && ms > lower, `${ms} ms in bucket ${i} (${lower}, ${upper}]`);
    }
    for (const bound of LATENCY_BUCKETS_MS.slice(0, -1)) assert.equal(LATENCY_BUCKETS_MS[bucketOf(bound)], bound);
  });

  test("router options are validated once, with every problem listed", () => {
    assert.throws(
      () => resolveRouterOptions({ port: -1, holdTimeoutMs: 1.5, maxConnectAttempts: 99 }),
      (error: Error & { code?: string }) =>
        error.code === "BATON_CONFIG_INVALID" &&
        /port/.test(error.message) &&
        /holdTimeoutMs/.test(error.message) &&
        /maxConnectAttempts/.test(error.message),
    );
    const options = resolveRouterOptions({ port: 0 });
    assert.equal(Object.isFrozen(options), true);
    assert.equal(options.holdTimeoutMs, 30_000);
  });
});
