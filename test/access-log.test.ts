// The router's access log (`baton router --access-log`): one JSON line per request with its
// request id, app, release, target, status and duration; none at all when it is off. And the
// pino-backed Logger every baton process uses: JSON lines, levels, the pretty form on a terminal.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { createLogger, prettyLine } from "../src/core/log.js";
import { waitFor } from "../src/core/wait.js";
import { cleanup, http, pool, type RouterProc, startRouter, startUpstream, tmpHome, type Upstream } from "./helpers.js";

interface AccessLine {
  level: string;
  time: string;
  name: string;
  msg: string;
  reqId: string;
  app: string;
  release: string | null;
  target: string | null;
  method: string;
  path: string;
  status: number;
  ms: number;
  attempts: number;
}

const linesOf = (file: string): AccessLine[] =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as AccessLine)
    : [];

describe("router access log", () => {
  const home = tmpHome();
  const file = join(home, "access.log");
  let logged: RouterProc;
  let quiet: RouterProc;
  let upstream: Upstream;

  before(async () => {
    [logged, quiet, upstream] = await Promise.all([
      startRouter({ home, args: ["--access-log", file] }),
      startRouter(),
      startUpstream("shop-1"),
    ]);
    for (const router of [logged, quiet]) {
      await router.client.putApp({ name: "shop", domains: ["shop.test"], holdTimeoutMs: 200 });
      await router.client.swap("shop", pool("shop-v1", "v1", [upstream]));
      await router.client.putApp({ name: "empty", domains: ["empty.test"], holdTimeoutMs: 50 });
    }
  });
  after(cleanup);

  test("one JSON line per request: request id, app, release, target, status, duration", async () => {
    const ids = ["req-a", "req-b", "req-c"];
    for (const id of ids) {
      const reply = await http(logged.port, `/id?n=${id}`, { headers: { host: "shop.test", "x-request-id": id } });
      assert.equal(reply.status, 200);
    }
    const held = await http(logged.port, "/", { headers: { host: "empty.test", "x-request-id": "req-held" } });
    assert.equal(held.status, 503);
    const lines = await waitFor(
      "four access log lines",
      async () => (linesOf(file).length >= 4 ? linesOf(file) : undefined),
      {
        timeoutMs: 5_000,
        intervalMs: 20,
      },
    );
    const byId = new Map(lines.map((l) => [l.reqId, l]));
    for (const id of ids) {
      const line = byId.get(id);
      assert.ok(line !== undefined, `no line for ${id}: ${JSON.stringify(lines)}`);
      assert.equal(line.name, "access");
      assert.equal(line.level, "info");
      assert.equal(line.app, "shop");
      assert.equal(line.release, "v1");
      assert.equal(line.target, `127.0.0.1:${upstream.port}`);
      assert.equal(line.method, "GET");
      assert.equal(line.path, `/id?n=${id}`);
      assert.equal(line.status, 200);
      assert.equal(line.attempts, 1);
      assert.ok(typeof line.ms === "number" && line.ms >= 0);
      assert.ok(!Number.isNaN(Date.parse(line.time)));
    }
    // Held, then answered by the router itself: no release, no target.
    const timedOut = byId.get("req-held");
    assert.ok(timedOut !== undefined);
    assert.equal(timedOut.app, "empty");
    assert.equal(timedOut.status, 503);
    assert.equal(timedOut.release, null);
    assert.equal(timedOut.target, null);
  });

  test("off by default: a router without --access-log writes no request lines anywhere", async () => {
    for (let i = 0; i < 5; i++) {
      assert.equal((await http(quiet.port, "/id", { headers: { host: "shop.test" } })).status, 200);
    }
    assert.equal((await quiet.client.appStats("shop")).releases[0]?.requests, 5);
    const output = quiet.output.join("");
    assert.doesNotMatch(output, /"name":"access"/);
    assert.equal(existsSync(join(quiet.home, "access.log")), false);
  });
});

describe("Logger (pino)", () => {
  const capture = (): { stream: Writable; lines: string[] } => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    return { stream, lines };
  };

  test("JSON lines with time, level, name, msg and the fields; below the level nothing", () => {
    const { stream, lines } = capture();
    const log = createLogger("server", "info", stream);
    log.debug("not shown", { a: 1 });
    log.info("deploy started", { app: "shop", deploy: 3 });
    log.error("plain");
    assert.equal(lines.length, 2);
    const first = JSON.parse(lines[0] ?? "") as Record<string, unknown>;
    assert.equal(first.level, "info");
    assert.equal(first.name, "server");
    assert.equal(first.msg, "deploy started");
    assert.equal(first.app, "shop");
    assert.equal(first.deploy, 3);
    assert.ok(!Number.isNaN(Date.parse(String(first.time))));
    assert.equal((JSON.parse(lines[1] ?? "") as Record<string, unknown>).level, "error");
  });

  test("a terminal gets one readable line per record", () => {
    const { stream, lines } = capture();
    Object.assign(stream, { isTTY: true });
    createLogger("router", "debug", stream).warn("target ejected", { target: "127.0.0.1:5001" });
    assert.match(
      lines[0] ?? "",
      /^\d\d:\d\d:\d\d\.\d{3} warn {2}router: target ejected \{"target":"127\.0\.0\.1:5001"\}\n$/,
    );
    assert.equal(prettyLine("not json\n"), "not json\n");
  });
});
