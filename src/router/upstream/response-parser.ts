/**
 * A strict, incremental HTTP/1.x response parser for the router's own upstream connections.
 * Profiling showed node:http's client costing more CPU per request than the rest of the proxy
 * together (bench/router: baton now serves about 2x a plain node:http proxy); this parser does only what a proxy
 * needs: the status line, the raw header list, the body framing (Content-Length, chunked, or
 * until close) and the body bytes, handed on without copies where the framing allows.
 *
 * Strictness keeps a confused instance from desynchronising a pooled connection: obsolete line
 * folding, malformed header lines, bad or conflicting Content-Length, bad chunk sizes and bytes
 * that arrive while no response is expected are all errors, and the connection is then closed.
 */

export interface ResponseHead {
  status: number;
  reason: string;
  /** Header names and values in arrival order, as Node's rawHeaders: [name, value, ...]. */
  rawHeaders: string[];
  /** The connection can carry another request after this response. */
  keepAlive: boolean;
  contentType: string | undefined;
  /** Value of the Connection header (its listed names are hop-by-hop too). */
  connection: string | undefined;
}

export interface ParserEvents {
  onHead(head: ResponseHead): void;
  onBody(chunk: Buffer): void;
  onComplete(keepAlive: boolean): void;
}

export class ProtocolError extends Error {
  readonly code = "BATON_UPSTREAM_PROTOCOL";
}

const MAX_HEAD_BYTES = 64 * 1024;
/** RFC 9110 5.1 field names (the fast path's request parser uses it too); node:http throws when asked to write any other name to the client. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * Anything in a response head outside field text as node:http accepts it (HTAB, visible ASCII,
 * obs-text) and CRLF line ends: a control byte, or a CR or LF on its own.
 */
const BAD_HEAD = /[^\t\r\n\x20-\x7e\x80-\xff]|\r(?!\n)|(?<!\r)\n/;
const MAX_CHUNK_LINE_BYTES = 1024;
const CRLF2 = Buffer.from("\r\n\r\n");

/** Where the line starting at `from` ends: its CRLF, or the end of the head. */
function lineEnd(text: string, from: number): number {
  const end = text.indexOf("\r\n", from);
  return end < 0 ? text.length : end;
}

function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

enum State {
  Idle,
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
}

export class ResponseParser {
  private state = State.Idle;
  private pending: Buffer | null = null;
  private remaining = 0;
  private noBody = false;
  private keepAlive = true;
  /** True once the head of the current response has been delivered. */
  headSeen = false;

  constructor(private readonly events: ParserEvents) {}

  /** Get ready for the response to a request with this method. */
  expect(method: string): void {
    this.state = State.Head;
    this.noBody = method === "HEAD";
    this.headSeen = false;
    this.pending = null;
  }

  get idle(): boolean {
    return this.state === State.Idle;
  }

  /** The connection reached EOF. Returns true when that completed the response (read until close). */
  finish(): boolean {
    if (this.state === State.UntilClose) {
      this.state = State.Idle;
      this.events.onComplete(false);
      return true;
    }
    return this.state === State.Idle;
  }

  execute(chunk: Buffer): void {
    let data = chunk;
    let at = 0;
    while (at < data.length) {
      switch (this.state) {
        case State.Idle:
          throw new ProtocolError("the instance sent bytes while no response was expected");
        case State.Head: {
          if (this.pending !== null) {
            data = Buffer.concat([this.pending, data.subarray(at)]);
            at = 0;
            this.pending = null;
          }
          const end = data.indexOf(CRLF2, at);
          if (end < 0) {
            if (data.length - at > MAX_HEAD_BYTES) throw new ProtocolError("response head too large");
            // A copy: `data` may be a buffer that the next read overwrites.
            this.pending = Buffer.from(data.subarray(at));
            return;
          }
          this.parseHead(data.toString("latin1", at, end));
          at = end + 4;
          break;
        }
        case State.Length: {
          const take = Math.min(this.remaining, data.length - at);
          this.remaining -= take;
          this.events.onBody(take === data.length && at === 0 ? data : data.subarray(at, at + take));
          at += take;
          if (this.remaining === 0) this.complete();
          break;
        }
        case State.UntilClose:
          this.events.onBody(at === 0 ? data : data.subarray(at));
          return;
        case State.ChunkSize:
        case State.Trailers: {
          if (this.pending !== null) {
            data = Buffer.concat([this.pending, data.subarray(at)]);
            at = 0;
            this.pending = null;
          }
          const lineEnd = data.indexOf("\r\n", at, "latin1");
          if (lineEnd < 0) {
            if (data.length - at > MAX_CHUNK_LINE_BYTES) throw new ProtocolError("chunk line too long");
            // A copy: `data` may be a buffer that the next read overwrites.
            this.pending = Buffer.from(data.subarray(at));
            return;
          }
          const line = data.toString("latin1", at, lineEnd);
          at = lineEnd + 2;
          if (this.state === State.Trailers) {
            // Trailers are dropped (Node's server cannot relay them without declaring them first).
            if (line === "") this.complete();
            break;
          }
          const semicolon = line.indexOf(";");
          const hex = (semicolon < 0 ? line : line.slice(0, semicolon)).trim();
          if (!/^[0-9a-fA-F]{1,15}$/.test(hex)) throw new ProtocolError("invalid chunk size");
          this.remaining = Number.parseInt(hex, 16);
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, data.length - at);
          this.remaining -= take;
          this.events.onBody(data.subarray(at, at + take));
          at += take;
          if (this.remaining === 0) {
            this.state = State.ChunkDataEnd;
            this.remaining = 2;
          }
          break;
        }
        case State.ChunkDataEnd: {
          // The CRLF after chunk data, possibly split across reads.
          const expected = this.remaining === 2 ? 13 : 10;
          if (data[at] !== expected) throw new ProtocolError("missing CRLF after chunk data");
          at++;
          if (--this.remaining === 0) this.state = State.ChunkSize;
          break;
        }
      }
    }
  }

  private parseHead(text: string): void {
    // One look at the whole head for what node:http would refuse to write to the client: control
    // bytes other than HTAB (NUL included), and a CR or LF that is not part of a CRLF line end.
    // The lines are then read in place, without splitting the head into an array of strings.
    if (BAD_HEAD.test(text)) throw new ProtocolError("invalid byte in response head");
    const statusEnd = lineEnd(text, 0);
    const statusLine = text.slice(0, statusEnd);
    if (!(statusLine.startsWith("HTTP/1.1 ") || statusLine.startsWith("HTTP/1.0 ")) || statusLine.length < 12) {
      throw new ProtocolError("invalid status line");
    }
    // Three digits from 100 to 599 (RFC 9110 15): Number() alone would take "1e2", and node:http
    // refuses to write a code above 599 to the client anyway.
    const code = statusLine.slice(9, 12);
    const status = Number(code);
    if (!/^[1-5][0-9][0-9]$/.test(code) || (statusLine.length > 12 && statusLine[12] !== " ")) {
      throw new ProtocolError("invalid status code");
    }
    const http10 = statusLine[7] === "0";
    const rawHeaders: string[] = [];
    let contentLength = -1;
    let chunked = false;
    let transferEncoding = false;
    let connection: string | undefined;
    let contentType: string | undefined;
    for (let at = statusEnd + 2; at < text.length; ) {
      const end = lineEnd(text, at);
      const colon = text.indexOf(":", at);
      const first = text.charCodeAt(at);
      // No colon on the line, an empty name, or obsolete line folding (a line starting with
      // whitespace continues the previous one; RFC 9112 5.2 lets a proxy reject it).
      if (colon < 0 || colon >= end || colon === at || first === 32 || first === 9) {
        throw new ProtocolError("invalid header line");
      }
      const name = text.slice(at, colon);
      const last = text.charCodeAt(colon - 1);
      if (last === 32 || last === 9) throw new ProtocolError("whitespace before a header colon");
      if (!TOKEN.test(name)) throw new ProtocolError("invalid header name");
      // The value without its optional whitespace (SP and HTAB, RFC 9110 5.6.3) on either side.
      let from = colon + 1;
      let to = end;
      while (from < to && isOws(text.charCodeAt(from))) from++;
      while (to > from && isOws(text.charCodeAt(to - 1))) to--;
      const value = text.slice(from, to);
      at = end + 2;
      rawHeaders.push(name, value);
      // Compare lengths first: most headers are none of these and skip the lower-casing.
      const n = name.length;
      if (n === 14 && name.toLowerCase() === "content-length") {
        if (!/^\d{1,15}$/.test(value)) throw new ProtocolError("invalid Content-Length");
        const length = Number(value);
        if (contentLength >= 0 && contentLength !== length) throw new ProtocolError("conflicting Content-Length");
        contentLength = length;
      } else if (n === 17 && name.toLowerCase() === "transfer-encoding") {
        transferEncoding = true;
        chunked = value.toLowerCase().endsWith("chunked");
      } else if (n === 10 && name.toLowerCase() === "connection") {
        connection = connection === undefined ? value : `${connection}, ${value}`;
      } else if (n === 12 && name.toLowerCase() === "content-type") {
        contentType = value;
      }
    }
    if (status < 200) {
      if (status === 101) throw new ProtocolError("unexpected protocol switch");
      return; // 1xx informational: the real response follows on the same connection
    }
    const connectionLower = connection?.toLowerCase();
    let keepAlive = http10
      ? connectionLower?.includes("keep-alive") === true
      : connectionLower?.includes("close") !== true;
    // Both framings at once is how response smuggling starts: honour chunked, then close.
    if (transferEncoding && contentLength >= 0) keepAlive = false;
    this.headSeen = true;
    const reasonText = statusLine.length > 13 ? statusLine.slice(13) : "";
    this.events.onHead({ status, reason: reasonText, rawHeaders, keepAlive, contentType, connection });
    this.keepAlive = keepAlive;
    if (this.noBody || status === 204 || status === 304) this.complete();
    else if (transferEncoding) {
      if (chunked) this.state = State.ChunkSize;
      else this.untilClose();
    } else if (contentLength >= 0) {
      this.remaining = contentLength;
      if (contentLength === 0) this.complete();
      else this.state = State.Length;
    } else this.untilClose();
  }

  private untilClose(): void {
    this.keepAlive = false;
    this.state = State.UntilClose;
  }

  private complete(): void {
    this.state = State.Idle;
    this.pending = null;
    this.events.onComplete(this.keepAlive);
  }
}
