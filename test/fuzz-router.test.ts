import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { cleanup, http, type RouterProc, startRouter } from "./helpers.js";

/**
 * Fuzzing the router's three parsers of outside input (docs/security.md, "Fuzzing"): raw client
 * requests, admin API JSON, and instance responses. The instances here are raw TCP servers in
 * this process so every byte the router forwards can be checked, and every byte it gets back
 * can be chosen. Cases come from fast-check with a new seed per run, printed as a diagnostic.
 */

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const CLIENT_CASES = 2_500;
const ADMIN_CASES = 400;
const RESPONSE_CASES = 600;
/** Each phase stops generating new cases after this long (the machine is shared and noisy). */
const PHASE_BUDGET_MS = 20_000;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// ---------------------------------------------------------------------------------------------
// A recording instance: a strict HTTP/1.1 request reader that notes every way a forwarded
// request is not well formed, and answers each well-formed one with 200 "ok".

interface Recorder {
  server: Server;
  port: number;
  received: number;
  violations: string[];
}

function violationsOfHead(head: string): { problems: string[]; length: number | "chunked" | 0 } {
  const problems: string[] = [];
  const lines = head.split("\r\n");
  const requestLine = lines[0] ?? "";
  const match = /^(\S+) (\S+) HTTP\/1\.1$/.exec(requestLine);
  if (match === null) problems.push(`bad request line ${JSON.stringify(requestLine.slice(0, 80))}`);
  else {
    if (!TOKEN.test(match[1] as string)) problems.push(`method is not a token: ${JSON.stringify(match[1])}`);
    if (!(match[2] as string).startsWith("/")) problems.push(`target is not origin-form: ${JSON.stringify(match[2])}`);
  }
  let contentLength: string[] = [];
  let transferEncoding: string[] = [];
  let host = 0;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = colon === -1 ? line : line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (colon <= 0 || !TOKEN.test(name)) problems.push(`header name is not a token: ${JSON.stringify(name)}`);
    if (/[\0\r\n]/.test(value)) problems.push(`header ${name} has CR, LF or NUL`);
    const lower = name.toLowerCase();
    if (lower === "content-length") contentLength.push(value);
    if (lower === "transfer-encoding") transferEncoding.push(value);
    if (lower === "host") host++;
  }
  if (host !== 1) problems.push(`${host} Host headers`);
  contentLength = [...contentLength];
  transferEncoding = [...transferEncoding];
  if (contentLength.length > 1) problems.push(`${contentLength.length} Content-Length headers`);
  if (contentLength.length > 0 && transferEncoding.length > 0)
    problems.push("both Content-Length and Transfer-Encoding");
  if (transferEncoding.length > 0 && transferEncoding.join(",").trim().toLowerCase() !== "chunked")
    problems.push(`Transfer-Encoding ${JSON.stringify(transferEncoding.join(","))} is not just chunked`);
  const cl = contentLength[0];
  if (cl !== undefined && !/^\d+$/.test(cl)) problems.push(`Content-Length ${JSON.stringify(cl)}`);
  const length = transferEncoding.length > 0 ? "chunked" : cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : 0;
  return { problems, length };
}

/** Length of a complete chunked body at the start of `data`, -1 when incomplete, or a problem. */
function chunkedLength(data: Buffer): number | string {
  let at = 0;
  for (;;) {
    const eol = data.indexOf("\r\n", at);
    if (eol === -1) return -1;
    const line = data.subarray(at, eol).toString("latin1");
    const size = /^([0-9a-fA-F]+)(;.*)?$/.exec(line);
    if (size === null) return `bad chunk size line ${JSON.stringify(line.slice(0, 40))}`;
    const n = Number.parseInt(size[1] as string, 16);
    at = eol + 2;
    if (n === 0) {
      // Trailers, then an empty line.
      for (;;) {
        const end = data.indexOf("\r\n", at);
        if (end === -1) return -1;
        if (end === at) return end + 2;
        at = end + 2;
      }
    }
    if (data.length < at + n + 2) return -1;
    if (data.subarray(at + n, at + n + 2).toString("latin1") !== "\r\n") return "chunk data not followed by CRLF";
    at += n + 2;
  }
}

function startRecorder(): Promise<Recorder> {
  const recorder: Recorder = { server: createServer(), port: 0, received: 0, violations: [] };
  recorder.server.on("connection", (socket: Socket) => {
    let buffer = Buffer.alloc(0);
    socket.on("error", () => undefined);
    socket.on("data", (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = buffer.subarray(0, end).toString("latin1");
        const { problems, length } = violationsOfHead(head);
        const rest = buffer.subarray(end + 4);
        let bodyLength: number;
        if (length === "chunked") {
          const n = chunkedLength(rest);
          if (typeof n === "string") problems.push(n);
          if (n === -1) return;
          bodyLength = typeof n === "number" ? n : rest.length;
        } else {
          if (rest.length < length) return;
          bodyLength = length;
        }
        recorder.received++;
        for (const p of problems) recorder.violations.push(`${p} in ${JSON.stringify(head.slice(0, 200))}`);
        buffer = rest.subarray(bodyLength);
        if (problems.length > 0) {
          socket.destroy();
          return;
        }
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }
    });
  });
  return new Promise((resolve) =>
    recorder.server.listen(0, "127.0.0.1", () => {
      recorder.port = (recorder.server.address() as AddressInfo).port;
      resolve(recorder);
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// A raw client: send bytes, collect the answer until the router closes, or until it has been
// quiet for a moment after answering (a kept-alive connection), or a time bound.

interface Answer {
  bytes: Buffer;
  closedByRouter: boolean;
  timedOut: boolean;
}

function rawExchange(port: number, payload: Buffer, splitAt: number, limitMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let quiet: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (closedByRouter: boolean, timedOut: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(quiet);
      clearTimeout(limit);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), closedByRouter, timedOut });
    };
    const limit = setTimeout(() => finish(false, chunks.length === 0), limitMs);
    socket.on("connect", () => {
      const cut = Math.min(splitAt, payload.length);
      socket.write(payload.subarray(0, cut));
      if (cut < payload.length) setTimeout(() => socket.writable && socket.write(payload.subarray(cut)), 5);
    });
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(false, false), 250);
    });
    socket.on("error", () => finish(true, false));
    socket.on("close", () => finish(true, false));
  });
}

/** Every response in `bytes` starts with a valid status line and has a complete head. */
function wellFormedAnswer(bytes: Buffer): string | undefined {
  if (bytes.length === 0) return undefined;
  const text = bytes.toString("latin1");
  if (!/^HTTP\/1\.1 [1-5]\d\d [^\r\n]*\r\n/.test(text))
    return `not an HTTP/1.1 status line: ${JSON.stringify(text.slice(0, 60))}`;
  if (!text.includes("\r\n\r\n")) return `incomplete head: ${JSON.stringify(text.slice(0, 120))}`;
  return undefined;
}

async function inParallel<T>(items: readonly T[], width: number, budgetMs: number, each: (item: T) => Promise<void>) {
  const started = Date.now();
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length && Date.now() - started < budgetMs) {
        const item = items[next++] as T;
        await each(item);
        done++;
      }
    }),
  );
  return done;
}

// ---------------------------------------------------------------------------------------------
// Generators of raw requests.

// Weighted towards valid pieces: a request with one odd part gets past node:http's parser far
// more often than an all-random one, so the forwarding path is fuzzed too, not only rejection.
const crlf = fc.oneof(
  { arbitrary: fc.constant("\r\n"), weight: 12 },
  { arbitrary: fc.constantFrom("\n", "\r", "\r\r\n"), weight: 1 },
);
const method = fc.oneof(
  { arbitrary: fc.constantFrom("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"), weight: 8 },
  { arbitrary: fc.constantFrom("CONNECT", "TRACE", "PRI", "get", "G\0T", "M-SEARCH", "X".repeat(40)), weight: 1 },
  { arbitrary: fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 12 }), weight: 1 },
);
const target = fc.oneof(
  { arbitrary: fc.constantFrom("/", "/id", "/a/b?c=d&e", "/%2e%2e/x", "/;x"), weight: 6 },
  fc.constantFrom("/", "/id", "/x?y=1", "*", "http://shop.test/abs", "//double", "/%00", "/\0", "", "/a b", "/é"),
  fc.string({ unit: "binary", maxLength: 40 }).map((s) => `/${s}`),
  fc.nat({ max: 70_000 }).map((n) => `/${"a".repeat(n)}`),
);
const version = fc.constantFrom(
  "HTTP/1.1",
  "HTTP/1.1",
  "HTTP/1.1",
  "HTTP/1.1",
  "HTTP/1.1",
  "HTTP/1.0",
  "HTTP/1.0",
  "HTTP/2.0",
  "HTTP/1.1x",
  "",
  "http/1.1",
  "HTTP/0.9",
);
const headerName = fc.oneof(
  { arbitrary: fc.constantFrom("Accept", "X-A", "Cookie", "Content-Type", "X-Forwarded-Host", "Via"), weight: 3 },
  { arbitrary: fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/), weight: 3 },
  fc.constantFrom(
    "Host",
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "Expect",
    "Upgrade",
    "TE",
    "Trailer",
    "Keep-Alive",
    "X-Forwarded-For",
    "X-Request-Id",
    "Cookie",
    " Host",
    "Host ",
    "Content-Length ",
  ),
  fc.string({ unit: "binary-ascii", maxLength: 16 }),
  fc.string({ unit: "binary", maxLength: 8 }),
);
const headerValue = fc.oneof(
  { arbitrary: fc.string({ unit: fc.constantFrom(...'abc 123,;=/\t"é\u00ff'), maxLength: 20 }), weight: 4 },
  fc.constantFrom(
    "shop.test",
    "chunked",
    "gzip, chunked",
    "chunked, gzip",
    "identity",
    " chunked",
    "0",
    "5",
    "-1",
    "1, 1",
    "+5",
    " 5",
    "0x5",
    "99999999999999999999",
    "close",
    "keep-alive, Upgrade",
    "websocket",
    "100-continue",
    "\0",
    "a\rb",
    "é",
  ),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.nat({ max: 20_000 }).map((n) => "v".repeat(n)),
);
const chunk = fc.oneof(
  fc.string({ unit: "binary-ascii", maxLength: 20 }).map((data) => `${data.length.toString(16)}\r\n${data}\r\n`),
  fc
    .tuple(
      fc.constantFrom("zz", "-1", "fffffffffffffffff", "", " 5", "5 ", "0x5", "5;a=b", "5;;", "5\0"),
      fc.string({ maxLength: 8 }),
    )
    .map(([size, data]) => `${size}\r\n${data}\r\n`),
);
const chunkedBody = fc
  .tuple(
    fc.array(chunk, { maxLength: 4 }),
    fc.constantFrom("0\r\n\r\n", "0\r\nX-T: 1\r\n\r\n", "0\r\nBad Trailer\r\n\r\n", "0;ext\r\n\r\n", "", "0\r\n"),
  )
  .map(([chunks, last]) => chunks.join("") + last);
const body = fc.oneof(fc.constant(""), fc.string({ unit: "binary-ascii", maxLength: 200 }), chunkedBody);

const oneRequest = fc
  .record({
    method,
    target,
    version,
    eol: crlf,
    withHost: fc.constantFrom(true, true, true, false),
    headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }),
    body,
  })
  .map(({ method, target, version, eol, withHost, headers, body }) => {
    const lines = [`${method} ${target} ${version}`];
    if (withHost) lines.push("Host: shop.test");
    for (const [name, value] of headers) lines.push(`${name}: ${value}`);
    return `${lines.join(eol)}${eol}${eol}${body}`;
  });

const rawRequest = fc
  .record({
    kind: fc.constantFrom("one", "one", "one", "one", "pipelined", "pipelined", "truncated", "bytes"),
    requests: fc.array(oneRequest, { minLength: 1, maxLength: 3 }),
    cut: fc.nat(),
    bytes: fc.uint8Array({ maxLength: 300 }),
    split: fc.nat({ max: 400 }),
  })
  .map(({ kind, requests, cut, bytes, split }) => {
    let payload: Buffer;
    if (kind === "bytes") payload = Buffer.from(bytes);
    else {
      const text = kind === "pipelined" ? requests.join("") : (requests[0] as string);
      payload = Buffer.from(kind === "truncated" ? text.slice(0, cut % (text.length + 1)) : text, "latin1");
    }
    return { payload, split };
  });

// ---------------------------------------------------------------------------------------------

describe("fuzz: router", () => {
  let router: RouterProc;
  let recorder: Recorder;

  before(async () => {
    recorder = await startRecorder();
    // Short client timeouts keep truncated requests from holding the run up.
    router = await startRouter({
      args: ["--headers-timeout", "1500", "--body-timeout", "1500", "--response-timeout", "1500"],
    });
    await router.client.putApp({ name: "shop", domains: ["shop.test"], isDefault: true });
    await router.client.swap("shop", {
      id: "shop-p1",
      release: "v1",
      targets: [{ host: "127.0.0.1", port: recorder.port }],
    });
  });
  after(async () => {
    await cleanup();
    await new Promise((resolve) => recorder.server.close(resolve));
  });

  async function stillServing(what: string): Promise<void> {
    assert.equal(router.proc.exitCode, null, `router exited during ${what}: ${router.output.join("")}`);
    assert.equal(router.proc.signalCode, null, `router killed during ${what}`);
    const reply = await http(router.port, "/after", { headers: { host: "shop.test" }, timeoutMs: 10_000 });
    assert.equal(reply.status, 200, `a normal request after ${what}`);
    assert.equal(reply.body, "ok");
  }

  test("raw client requests: the router answers well-formed or closes, and forwards only well-formed requests", async (t) => {
    const cases = fc.sample(rawRequest, { numRuns: CLIENT_CASES, seed: SEED });
    t.diagnostic(`seed ${SEED} (FUZZ_SEED=${SEED} to replay), ${cases.length} cases`);
    const bad: string[] = [];
    let answered = 0;
    let closed = 0;
    let silent = 0;
    let sent = 0;
    for (let batch = 0; batch < cases.length; batch += 500) {
      sent += await inParallel(cases.slice(batch, batch + 500), 64, PHASE_BUDGET_MS / 5, async ({ payload, split }) => {
        const answer = await rawExchange(router.port, payload, split, 2_500);
        const problem = wellFormedAnswer(answer.bytes);
        if (problem !== undefined)
          bad.push(`${problem} for ${JSON.stringify(payload.toString("latin1").slice(0, 120))}`);
        if (answer.bytes.length > 0) answered++;
        else if (answer.closedByRouter) closed++;
        else silent++;
      });
      await stillServing(`batch ${batch / 500 + 1}`);
    }
    t.diagnostic(
      `sent ${sent}: ${answered} answered, ${closed} closed without an answer, ${silent} still waiting for bytes at 2.5 s; ` +
        `the instance received ${recorder.received} requests, ${recorder.violations.length} malformed`,
    );
    assert.ok(sent >= 200, `only ${sent} cases ran within the time budget`);
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} malformed answers`);
    assert.deepEqual(recorder.violations.slice(0, 5), [], `${recorder.violations.length} malformed forwarded requests`);
  });

  test("admin API: any JSON body or path gets JSON with an error code (4xx) or 200, and the router keeps serving", async (t) => {
    const socketPath = join(router.home, "router.sock");
    const admin = (method: string, path: string, body: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        // An explicit length: node:http sends a GET or DELETE body unframed otherwise.
        const headers = { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) };
        const req = httpRequest({ socketPath, method, path, headers }, (res) => {
          let text = "";
          res.on("data", (d: Buffer) => {
            text += String(d);
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.setTimeout(10_000, () => req.destroy(new Error("admin timeout")));
        req.on("error", reject);
        req.end(body);
      });
    const odd = fc.oneof(
      fc.constantFrom(
        null,
        true,
        0,
        -1,
        1.5,
        1e308,
        "",
        "x\r\nX: y",
        "\0",
        "fuzz.test",
        [],
        {},
        ["fuzz.test"],
        [5],
        [null],
      ),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const targetish = fc.oneof(
      fc.record({ host: fc.constantFrom("127.0.0.1", "", "::1", "\0", "a b"), port: fc.oneof(fc.constant(1), odd) }),
      odd,
    );
    const poolish = fc.oneof(
      fc.record(
        {
          id: fc.oneof(fc.constantFrom("p1", "p2", ""), odd),
          release: fc.oneof(fc.constant("v1"), odd),
          targets: fc.oneof(fc.array(targetish, { maxLength: 2 }), odd),
          healthPath: fc.oneof(fc.constantFrom("/health", "no-slash", "/\r\n", "/ x", "/\0"), odd),
        },
        { requiredKeys: [] },
      ),
      odd,
    );
    const spec = fc.record(
      {
        domains: fc.oneof(
          fc.constant(["fuzz.test"]),
          odd,
          fc.array(fc.oneof(fc.constant("fuzz.test"), odd), { maxLength: 3 }),
        ),
        isDefault: odd,
        paused: odd,
        holdTimeoutMs: odd,
        maintenance: fc.oneof(
          fc.record({ enabled: fc.oneof(fc.constant(true), odd), retryAfterS: odd, html: odd }, { requiredKeys: [] }),
          odd,
        ),
        pool: poolish,
        weight: odd,
        sticky: odd,
        enabled: odd,
        retryAfterS: odd,
        html: odd,
        timeoutMs: fc.oneof(fc.constantFrom(0, 1, 10), odd),
        streamCloseWindowMs: odd,
      },
      { requiredKeys: [] },
    );
    const call = fc.record({
      route: fc.constantFrom(
        ["PUT", "/v1/apps/fuzz"],
        ["PUT", "/v1/apps/fuzz"],
        ["PUT", "/v1/apps/%E0%A4%A"],
        ["PUT", "/v1/apps/bad%20name"],
        ["POST", "/v1/apps/fuzz/swap"],
        ["POST", "/v1/apps/fuzz/swap"],
        ["POST", "/v1/apps/fuzz/prepare"],
        ["PUT", "/v1/apps/fuzz/canary"],
        ["POST", "/v1/apps/fuzz/pause"],
        ["POST", "/v1/apps/fuzz/resume"],
        ["PUT", "/v1/apps/fuzz/maintenance"],
        ["POST", "/v1/pools/p1/drain"],
        ["DELETE", "/v1/apps/fuzz"],
        ["GET", "/v1/apps/fuzz/stats"],
        ["PATCH", "/v1/apps/fuzz"],
      ),
      body: fc.oneof(
        spec.map((s) => JSON.stringify(s)),
        fc.string({ unit: "binary", maxLength: 40 }),
        fc.constantFrom("", "[]", "null", "1", '"x"', "{", '{"__proto__": {"domains": 5}}'),
      ),
    });
    const cases = fc.sample(call, { numRuns: ADMIN_CASES, seed: SEED });
    t.diagnostic(`seed ${SEED}, ${cases.length} admin calls`);
    const bad: string[] = [];
    const started = Date.now();
    let sent = 0;
    const statuses = new Map<number, number>();
    for (const { route, body } of cases) {
      if (Date.now() - started > PHASE_BUDGET_MS) break;
      const [method, path] = route as [string, string];
      const reply = await admin(method, path, body).catch((error: Error) => {
        throw new Error(
          `${method} ${path} ${body.slice(0, 300)}: ${error.message}; router: ${router.output.join("").slice(-2000)}`,
        );
      });
      sent++;
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      let code: unknown;
      try {
        code = (JSON.parse(reply.body) as { error?: { code?: unknown } }).error?.code;
      } catch {
        bad.push(`${method} ${path} ${body.slice(0, 200)} -> ${reply.status}, not JSON`);
        continue;
      }
      if (reply.status !== 200 && !(reply.status >= 400 && reply.status < 500 && typeof code === "string"))
        bad.push(`${method} ${path} ${body.slice(0, 300)} -> ${reply.status} ${reply.body.slice(0, 200)}`);
      // Whatever was accepted must not break a request to the fuzzed app, nor the table.
      if (reply.status === 200 && method !== "GET") {
        const answer = await rawExchange(
          router.port,
          Buffer.from("GET / HTTP/1.1\r\nHost: fuzz.test\r\nConnection: close\r\n\r\n"),
          1_000,
          5_000,
        );
        const problem = wellFormedAnswer(answer.bytes);
        if (problem !== undefined || (answer.bytes.length === 0 && !answer.timedOut))
          bad.push(`after ${method} ${path} ${body.slice(0, 300)}: ${problem ?? "no answer"}`);
      }
    }
    t.diagnostic(`sent ${sent}; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    await router.client.table();
    await stillServing("the admin fuzz");
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} bad admin answers`);
  });

  test("instance responses: any bytes from an instance give the client a 502 or a well-formed response, within a bound", async (t) => {
    let cases: Array<{ bytes: Buffer; close: boolean }> = [];
    // The instance answers a request for /r/N with case N's bytes, so cases can run side by side.
    const evil = createServer((socket) => {
      socket.on("error", () => undefined);
      socket.once("data", (data: Buffer) => {
        const index = Number(/^GET \/r\/(\d+) /.exec(data.toString("latin1"))?.[1]);
        const c = cases[index];
        if (c === undefined) return void socket.destroy();
        socket.write(c.bytes);
        if (c.close) setTimeout(() => socket.end(), 20);
      });
    });
    await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise((resolve) => evil.close(resolve)));
    const port = (evil.address() as AddressInfo).port;
    await router.client.putApp({ name: "evil", domains: ["evil.test"] });
    await router.client.swap("evil", { id: "evil-p1", release: "v1", targets: [{ host: "127.0.0.1", port }] });

    const status = fc.oneof(
      fc.constantFrom("200", "204", "304", "100", "101", "999", "20", "-1", "abc", ""),
      fc.nat({ max: 999 }).map(String),
    );
    const respHeader = fc.oneof(
      fc.constantFrom(
        "Content-Length: 5",
        "Content-Length: 0",
        "Content-Length: -1",
        "Content-Length: 5, 5",
        "Content-Length: 99999999999999999999",
        "Content-Length: abc",
        "Transfer-Encoding: chunked",
        "Transfer-Encoding: gzip",
        "Connection: close",
        "Connection: keep-alive",
        " Folded: x",
        "NoColon",
        "Bad Name: x",
        "X-Nul: a\0b",
        "Set-Cookie: a=1",
        "Content-Type: text/plain",
      ),
      fc.tuple(headerName, headerValue).map(([n, v]) => `${n}: ${v}`),
    );
    const response = fc
      .record({
        version: fc.constantFrom("HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2", "http/1.1", "ICY", ""),
        status,
        reason: fc.oneof(fc.constantFrom("OK", "", "Bad\0Reason", "é"), fc.string({ maxLength: 10 })),
        headers: fc.array(respHeader, { maxLength: 5 }),
        eol: crlf,
        body: fc.oneof(
          fc.constantFrom("hello", "", "5\r\nhello\r\n0\r\n\r\n", "zz\r\n", "hello world, more bytes"),
          chunkedBody,
        ),
        kind: fc.constantFrom("whole", "whole", "truncated", "bytes", "twice"),
        cut: fc.nat(),
        bytes: fc.uint8Array({ maxLength: 200 }),
        close: fc.constantFrom(true, true, true, false),
      })
      .map(({ version, status, reason, headers, eol, body, kind, cut, bytes, close }) => {
        const text = `${version} ${status} ${reason}${eol}${headers.join(eol)}${headers.length > 0 ? eol : ""}${eol}${body}`;
        if (kind === "bytes") return { bytes: Buffer.from(bytes), close };
        if (kind === "twice") return { bytes: Buffer.from(text + text, "latin1"), close };
        if (kind === "truncated")
          return { bytes: Buffer.from(text.slice(0, cut % (text.length + 1)), "latin1"), close };
        return { bytes: Buffer.from(text, "latin1"), close };
      });
    cases = fc.sample(response, { numRuns: RESPONSE_CASES, seed: SEED });
    t.diagnostic(`seed ${SEED}, ${cases.length} instance responses`);
    const bad: string[] = [];
    const statuses = new Map<string, number>();
    const closedOn: string[] = [];
    const sent = await inParallel([...cases.keys()], 16, PHASE_BUDGET_MS, async (index) => {
      const c = cases[index] as { bytes: Buffer; close: boolean };
      const answer = await rawExchange(
        router.port,
        Buffer.from(`GET /r/${index} HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n`),
        1_000,
        // The router's response timeout is 1.5 s; the client must hear something (or a close) before 6 s.
        6_000,
      );
      const what = JSON.stringify(c.bytes.toString("latin1").slice(0, 160));
      const problem = wellFormedAnswer(answer.bytes);
      if (problem !== undefined) bad.push(`${problem} for ${what}`);
      if (answer.bytes.length === 0 && !answer.closedByRouter) bad.push(`client left hanging for ${what}`);
      if (answer.bytes.length === 0 && answer.closedByRouter) closedOn.push(what);
      const code =
        /^HTTP\/1\.1 (\d{3})/.exec(answer.bytes.toString("latin1"))?.[1] ?? (answer.closedByRouter ? "closed" : "none");
      statuses.set(code, (statuses.get(code) ?? 0) + 1);
    });
    t.diagnostic(`sent ${sent}; client saw ${JSON.stringify(Object.fromEntries(statuses))}`);
    for (const what of closedOn.slice(0, 3)) t.diagnostic(`closed without an answer after the instance sent ${what}`);
    await stillServing("the instance response fuzz");
    assert.ok(sent >= 100, `only ${sent} cases ran within the time budget`);
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} bad answers`);
  });
});

describe("fuzz findings (router): regression tests with the minimal counterexamples", () => {
  let router: RouterProc;
  let recorder: Recorder;

  before(async () => {
    recorder = await startRecorder();
    router = await startRouter();
    await router.client.putApp({ name: "shop", domains: ["shop.test"], isDefault: true });
    await router.client.swap("shop", {
      id: "p1",
      release: "v1",
      targets: [{ host: "127.0.0.1", port: recorder.port }],
    });
  });
  after(async () => {
    await cleanup();
    await new Promise((resolve) => recorder.server.close(resolve));
  });

  const exchange = (text: string) => rawExchange(router.port, Buffer.from(text, "latin1"), 10_000, 5_000);
  const statusOf = (answer: Answer) => /^HTTP\/1\.1 (\d{3})/.exec(answer.bytes.toString("latin1"))?.[1];

  test("an HTTP/1.0 request without Host (or with Connection: host) reaches the instance with a Host header", async () => {
    const before = recorder.received;
    assert.equal(statusOf(await exchange("GET / HTTP/1.0\r\n\r\n")), "200");
    assert.equal(statusOf(await exchange("GET / HTTP/1.1\r\nHost: shop.test\r\nConnection: host\r\n\r\n")), "200");
    assert.equal(recorder.received, before + 2);
    assert.deepEqual(recorder.violations, []);
  });

  test('absolute-form, "*" and two Host headers get a 400 and are not forwarded', async () => {
    const before = recorder.received;
    for (const text of [
      "GET http://shop.test/abs HTTP/1.1\r\nHost: shop.test\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: shop.test\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: shop.test\r\nHost: other.test\r\n\r\n",
    ]) {
      assert.equal(statusOf(await exchange(text)), "400", JSON.stringify(text));
    }
    assert.equal(recorder.received, before);
  });

  test("a maintenance Retry-After with a newline is refused by the admin API (it used to crash the router)", async () => {
    await assert.rejects(
      router.client.putApp({
        name: "shop",
        domains: ["shop.test"],
        maintenance: { enabled: true, retryAfterS: "1\r\nX: y" as unknown as number },
      }),
      /retryAfterS/,
    );
    assert.equal((await http(router.port, "/", { headers: { host: "shop.test" } })).status, 200);
  });

  test("instance status 600-999, 1e2, a reason or header node:http cannot write: a 502, not a closed connection", async () => {
    const replies = [
      "HTTP/1.1 992 X\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 1e2 X\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 Bad\0Reason\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Id: a\x0eb\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\n\x1f: v\r\nContent-Length: 0\r\n\r\n",
    ];
    let next = 0;
    const evil = createServer((socket) => {
      socket.on("error", () => undefined);
      socket.once("data", () => socket.end(replies[next] ?? ""));
    });
    await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
    try {
      const port = (evil.address() as AddressInfo).port;
      await router.client.putApp({ name: "evil", domains: ["evil.test"] });
      await router.client.swap("evil", { id: "e1", release: "v1", targets: [{ host: "127.0.0.1", port }] });
      for (next = 0; next < replies.length; next++) {
        const answer = await exchange("GET / HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n");
        assert.equal(statusOf(answer), "502", JSON.stringify(replies[next]));
      }
    } finally {
      await new Promise((resolve) => evil.close(resolve));
    }
  });
});
