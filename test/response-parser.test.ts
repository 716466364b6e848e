import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProtocolError, type ResponseHead, ResponseParser } from "../src/router/upstream/response-parser.js";

interface Parsed {
  heads: ResponseHead[];
  body: string;
  completes: boolean[];
}

function parser(): { p: ResponseParser; out: Parsed } {
  const out: Parsed = { heads: [], body: "", completes: [] };
  const p = new ResponseParser({
    onHead: (h) => out.heads.push(h),
    onBody: (c) => {
      out.body += c.toString("latin1");
    },
    onComplete: (keepAlive) => out.completes.push(keepAlive),
  });
  return { p, out };
}

/** Feed `text` whole, then again split at every byte: both must parse the same. */
function parseBothWays(text: string, method = "GET"): Parsed {
  const whole = parser();
  whole.p.expect(method);
  whole.p.execute(Buffer.from(text, "latin1"));
  const split = parser();
  split.p.expect(method);
  for (let i = 0; i < text.length; i++) split.p.execute(Buffer.from(text.slice(i, i + 1), "latin1"));
  assert.deepEqual(split.out, whole.out);
  return whole.out;
}

describe("ResponseParser", () => {
  test("Content-Length body, headers in order, keep-alive by default", () => {
    const out = parseBothWays(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert.equal(out.heads[0]?.status, 200);
    assert.equal(out.heads[0]?.reason, "OK");
    assert.deepEqual(out.heads[0]?.rawHeaders, [
      "Content-Type",
      "text/plain",
      "X-A",
      "1",
      "X-A",
      "2",
      "Content-Length",
      "5",
    ]);
    assert.equal(out.body, "hello");
    assert.deepEqual(out.completes, [true]);
  });

  test("chunked body with extensions and trailers is decoded", () => {
    const out = parseBothWays(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
    assert.equal(out.body, "hello, world");
    assert.deepEqual(out.completes, [true]);
  });

  test("no body for HEAD, 204 and 304; 1xx informational responses are skipped", () => {
    assert.deepEqual(parseBothWays("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD").completes, [true]);
    assert.deepEqual(parseBothWays("HTTP/1.1 204 No Content\r\n\r\n").completes, [true]);
    assert.deepEqual(parseBothWays("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n").completes, [true]);
    const out = parseBothWays(
      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );
    assert.equal(out.heads.length, 1);
    assert.equal(out.heads[0]?.status, 200);
    assert.equal(out.body, "ok");
  });

  test("a body without framing is read until the connection closes, and the connection is not reused", () => {
    const { p, out } = parser();
    p.expect("GET");
    p.execute(Buffer.from("HTTP/1.0 200 OK\r\n\r\nsome "));
    p.execute(Buffer.from("bytes"));
    assert.deepEqual(out.completes, []);
    assert.equal(p.finish(), true);
    assert.equal(out.body, "some bytes");
    assert.deepEqual(out.completes, [false]);
  });

  test("Connection: close and HTTP/1.0 without keep-alive end the connection after the response", () => {
    assert.deepEqual(parseBothWays("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").completes, [
      false,
    ]);
    assert.deepEqual(parseBothWays("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").completes, [false]);
    assert.deepEqual(
      parseBothWays("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").completes,
      [true],
    );
  });

  test("header values lose the spaces and tabs around them and nothing else; empty values and obs-text stay", () => {
    const out = parseBothWays(
      "HTTP/1.1 200 OK\r\nX-A:  \t spaced  out \t \r\nX-B:\r\nX-C: caf\xe9\xa0\r\nContent-Length: 0\r\n\r\n",
    );
    assert.deepEqual(out.heads[0]?.rawHeaders, [
      "X-A",
      "spaced  out",
      "X-B",
      "",
      "X-C",
      "caf\xe9\xa0",
      "Content-Length",
      "0",
    ]);
  });

  test("malformed or ambiguous responses are protocol errors", () => {
    const bad = [
      "HTTP/2 200 OK\r\n\r\n",
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Space : a\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
      "HTTP/1.1 101 Switching Protocols\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
      // Bytes node:http would refuse to write to the client, anywhere in the head.
      "HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 Bad\0Reason\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Nul: a\0b\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Del: a\x7fb\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Bare: a\nX-Other: b\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Bare: a\rb\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\n: empty name\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\n\x1f: v\r\nContent-Length: 0\r\n\r\n",
    ];
    for (const text of bad) {
      const { p } = parser();
      p.expect("GET");
      assert.throws(() => p.execute(Buffer.from(text, "latin1")), ProtocolError, JSON.stringify(text));
    }
  });

  test("both Content-Length and Transfer-Encoding: chunked wins and the connection closes afterwards", () => {
    const out = parseBothWays(
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    );
    assert.equal(out.body, "ok");
    assert.deepEqual(out.completes, [false]);
  });
});
