import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import type { InboundRequest } from "../client-message.js";
import { TOKEN } from "../upstream/response-parser.js";

/**
 * The fast path's request: a plain HTTP/1.1 GET or HEAD with no body, parsed by the router
 * itself. Anything else is left to node:http (connection.ts hands the connection over), so this
 * parser only has to say "mine" or "not mine", never answer a malformed request: node:http's
 * strict parser keeps doing that, with its 400s, 431s and timeouts.
 */

/** Field values as the fast path takes them: visible ASCII, space and tab (no obs-text, no controls). */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;
/** Origin-form targets of visible ASCII only; absolute-form, "*" and anything odd go to node:http. */
const REQUEST_LINE = /^(GET|HEAD) (\/[\x21-\x7e]*) HTTP\/1\.1$/;
/** More header lines than this: node:http's limits apply instead. */
const MAX_FIELDS = 100;

export interface RequestHead {
  method: "GET" | "HEAD";
  url: string;
  rawHeaders: string[];
  /** The client asked to close the connection after this request. */
  close: boolean;
}

/**
 * Parse a request head (without its final CRLF CRLF). Null when the request is not a plain
 * bodiless GET or HEAD in strict HTTP/1.1 syntax with one Host: a body (Content-Length,
 * Transfer-Encoding), Expect, Upgrade, obsolete line folding, bare CR or LF, bytes outside
 * visible ASCII, no Host or several, and any other request line all return null.
 */
export function parseRequestHead(text: string): RequestHead | null {
  const lines = text.split("\r\n");
  if (lines.length > MAX_FIELDS + 1) return null;
  const requestLine = REQUEST_LINE.exec(lines[0] as string);
  if (requestLine === null) return null;
  const rawHeaders: string[] = [];
  let close = false;
  let hosts = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(":");
    if (colon <= 0) return null;
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return null;
    const rest = line.slice(colon + 1);
    if (!FIELD_VALUE.test(rest)) return null;
    const value = trimOws(rest);
    const n = name.length;
    // Lower-case only names of a length that could matter.
    if (n === 4) {
      if (name.toLowerCase() === "host") hosts++;
    } else if (n === 14 || n === 17 || n === 7 || n === 6) {
      const lower = name.toLowerCase();
      if (
        lower === "content-length" ||
        lower === "transfer-encoding" ||
        lower === "upgrade" ||
        lower === "expect" ||
        lower === "http2-settings"
      )
        return null;
    } else if (n === 10 && name.toLowerCase() === "connection") {
      close = close || /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i.test(value);
    }
    rawHeaders.push(name, value);
  }
  // node:http answers an HTTP/1.1 request without Host with a 400 (and the router refuses two).
  if (hosts !== 1) return null;
  return { method: requestLine[1] as "GET" | "HEAD", url: requestLine[2] as string, rawHeaders, close };
}

/** Strip optional whitespace (space and tab only, RFC 9110 5.6.3) from both ends. */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/** Duplicates of these keep the first value, as node:http does (its matchKnownFields). */
const FIRST_WINS = new Set([
  "age",
  "authorization",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

/** node:http's `req.headers` from raw headers: lower-cased names, duplicates merged its way. */
export function headersObject(rawHeaders: readonly string[]): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = Object.create(null);
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    const seen = headers[name];
    if (seen === undefined) headers[name] = name === "set-cookie" ? [value] : value;
    else if (name === "set-cookie") (seen as string[]).push(value);
    else if (FIRST_WINS.has(name)) continue;
    else headers[name] = `${seen as string}${name === "cookie" ? "; " : ", "}${value}`;
  }
  return headers as IncomingHttpHeaders;
}

export class FastRequest implements InboundRequest {
  /** No body: the request is complete once its head is. */
  readonly readableEnded = true;
  private headersCache: IncomingHttpHeaders | undefined;

  constructor(
    readonly method: "GET" | "HEAD",
    readonly url: string,
    readonly rawHeaders: string[],
    readonly socket: Socket,
  ) {}

  /** Built on first use: most requests never read it (headers.ts works on rawHeaders). */
  get headers(): IncomingHttpHeaders {
    if (this.headersCache === undefined) this.headersCache = headersObject(this.rawHeaders);
    return this.headersCache;
  }

  isPaused(): boolean {
    return false;
  }

  pause(): void {}

  resume(): void {}

  /** There is no body, so neither "data" nor "end" will come (as with a body-less IncomingMessage already ended). */
  on(_event: "data" | "end", _listener: (chunk: Buffer) => void): void {}
}
