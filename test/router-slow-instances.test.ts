import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/core/wait.js";
import { cleanup, pool, type RouterProc, startRouter, startUpstream, untilInFlight } from "./helpers.js";

/** What a raw client read, in the order the reads came, until the router closed or `limitMs` passed. */
interface Reads {
  reads: string[];
  closed: boolean;
}

/**
 * Send one request on a raw connection and collect each read separately, so a test can tell a
 * head that came alone from a head that came with its body. `pauseMs` stops reading for that
 * long after the first read (a slow client).
 */
function readsOf(port: number, path: string, limitMs: number, pauseMs = 0): Promise<Reads> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const reads: string[] = [];
    const finish = (closed: boolean) => {
      clearTimeout(limit);
      socket.destroy();
      resolve({ reads, closed });
    };
    const limit = setTimeout(() => finish(false), limitMs);
    socket.on("connect", () => socket.write(`GET ${path} HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n`));
    socket.on("data", (data: Buffer) => {
      reads.push(data.toString("latin1"));
      if (reads.length === 1 && pauseMs > 0) {
        socket.pause();
        setTimeout(() => socket.resume(), pauseMs);
      }
    });
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
  });
}

describe("router: slow instances", () => {
  let router: RouterProc;

  before(async () => {
    // A short response timeout, so a body that stalls past it is seen in a test's time.
    router = await startRouter({ args: ["--response-timeout", "400"] });
    const upstream = await startUpstream("slow-a");
    await router.client.putApp({ name: "shop", domains: ["shop.test"] });
    await router.client.swap("shop", pool("s1", "v1", [upstream]));
  });
  after(cleanup);

  test("a head that comes before its body reaches the client at once, not with the body", async () => {
    const { reads, closed } = await readsOf(router.port, "/stall?ms=300", 5_000);
    assert.ok(closed, "the router should close after the response (Connection: close)");
    const first = reads[0] ?? "";
    assert.match(first, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(first.endsWith("\r\n\r\n"), `the first read should be the head alone: ${JSON.stringify(first)}`);
    assert.equal(reads.slice(1).join(""), "late");
  });

  test("a body that stops arriving for longer than the response timeout is cut and counted as a timeout", async () => {
    const before = await router.client.appStats("shop");
    const timeoutsBefore = before.releases.find((r) => r.release === "v1")?.errors.timeout ?? 0;
    const { reads, closed } = await readsOf(router.port, "/stall?ms=3000", 10_000);
    assert.ok(closed, "the router should cut the connection, not leave the client waiting");
    const text = reads.join("");
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(!text.endsWith("late"), "the body came after all: the stall was not long enough to test anything");
    const stats = await router.client.appStats("shop");
    assert.equal(stats.releases.find((r) => r.release === "v1")?.errors.timeout, timeoutsBefore + 1);
  });

  test("a client that stops reading is not taken for a silent instance: its body arrives whole", async () => {
    // 8 MB is more than the loopback socket buffers hold, so the router has to pause the
    // instance for the client, longer than the response timeout.
    const { reads } = await readsOf(router.port, "/big?kb=8192", 20_000, 1_500);
    const text = reads.join("");
    const body = text.slice(text.indexOf("\r\n\r\n") + 4);
    assert.equal(body.length, 8192 * 1024);
  });

  test("a client that never reads the rest of a response is cut after the body timeout, freeing the instance's side", async () => {
    const stalling = await startRouter({ args: ["--body-timeout", "800", "--response-timeout", "400"] });
    await stalling.client.putApp({ name: "shop", domains: ["shop.test"] });
    await stalling.client.swap("shop", pool("s2", "v1", [await startUpstream("slow-b")]));
    const socket: Socket = connect(stalling.port, "127.0.0.1");
    socket.on("error", () => undefined);
    try {
      // Read the first bytes, then nothing more: 8 MB cannot all wait in the socket buffers.
      await new Promise<void>((resolve) => {
        socket.once("data", () => {
          socket.pause();
          resolve();
        });
        socket.write("GET /big?kb=8192 HTTP/1.1\r\nHost: shop.test\r\n\r\n");
      });
      await untilInFlight(stalling.client, "shop", 1);
      const inFlight = async () =>
        (await stalling.client.appStats("shop")).releases.reduce((sum, r) => sum + r.inFlight, 0);
      await waitFor(
        "the stalled request to leave the router",
        async () => ((await inFlight()) === 0 ? true : undefined),
        {
          timeoutMs: 10_000,
        },
      );
    } finally {
      socket.destroy();
    }
  });
});
