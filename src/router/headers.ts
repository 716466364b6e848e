import type { InboundRequest } from "./client-message.js";
import { newRequestId } from "./request-id.js";
import type { TrustedProxies } from "./trusted-proxies.js";

/** Hop-by-hop headers (RFC 9110 7.6.1) plus the legacy ones proxies must not forward. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * Headers the router sets itself, so a client cannot spoof them; and Expect, which Node's server
 * has already answered with 100 Continue.
 */
const SET_BY_ROUTER = new Set(["x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-request-id", "expect"]);

const REQUEST_ID_OK = /^[\w\-.:/+=@]{1,200}$/;

/** Names listed in a Connection header are hop-by-hop too; the common case has none. */
function connectionTokens(value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  let tokens: Set<string> | undefined;
  for (const token of value.split(",")) {
    const name = token.trim().toLowerCase();
    if (name === "" || name === "close" || name === "keep-alive" || name === "upgrade") continue;
    tokens ??= new Set();
    tokens.add(name);
  }
  return tokens;
}

export interface ForwardedRequestHeaders {
  headers: string[];
  requestId: string;
  /** The client sent a chunked body. */
  chunked: boolean;
  /** The client's Content-Length, when it sent one. */
  contentLength: string | undefined;
}

/**
 * The Host header straight from the raw list, in the one pass every request needs. Reading
 * `req.headers` would make Node build the whole lower-cased header object for every request,
 * which the router otherwise never needs. null when there are several: the router would route by
 * one while the instance may read another, so such a request gets a 400 (RFC 9112 3.2) and is
 * never forwarded.
 */
export function hostOf(rawHeaders: readonly string[]): string | undefined | null {
  let host: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 4 && lowerShort(name) === "host") {
      if (host !== undefined) return null;
      host = rawHeaders[i + 1] as string;
    }
  }
  return host;
}

/**
 * Build the header list sent to the instance from the client's raw headers in one pass: drop
 * hop-by-hop headers (keeping Upgrade for WebSocket handshakes), append the client address to
 * X-Forwarded-For (to a trusted proxy's chain; a chain from anyone else is dropped), and set
 * X-Forwarded-Proto/-Host/-Port (a trusted proxy's own are kept) and X-Request-Id. It also notes the
 * body framing, so nothing else has to look at the headers again.
 */
export function forwardRequestHeaders(
  req: InboundRequest,
  proto: "http" | "https",
  localPort: number,
  upgrade: boolean,
  trustedProxies: TrustedProxies,
  /** The Host to send instead of the client's (a warm-up route's, AppRoute.forwardHost). */
  hostOverride?: string,
): ForwardedRequestHeaders {
  const peer = req.socket.remoteAddress;
  // A trusted proxy's X-Forwarded-* are kept (its client, its scheme); anyone else's are dropped.
  const trusted = trustedProxies.has(peer);
  const raw = req.rawHeaders;
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 10 && lowerShort(name) === "connection") {
      connection = connection === undefined ? raw[i + 1] : `${connection}, ${raw[i + 1]}`;
    }
  }
  const extraHop = connectionTokens(connection);
  const out: string[] = [];
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let forwardedPort: string | undefined;
  let requestId: string | undefined;
  let host: string | undefined;
  let chunked = false;
  let contentLength: string | undefined;
  let upgradeProtocol = "websocket";
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = lowerShort(name);
    if (HOP_BY_HOP.has(lower)) {
      if (lower === "transfer-encoding") chunked = true;
      else if (lower === "upgrade") upgradeProtocol = value;
      continue;
    }
    // Host is never hop-by-hop: "Connection: host" must not leave the instance without one.
    if (extraHop?.has(lower) && lower !== "host") continue;
    if (lower === "host") {
      host = hostOverride ?? value;
      out.push(name, host);
      continue;
    }
    if (lower === "content-length") contentLength = value;
    else if (lower === "x-forwarded-for") {
      if (trusted) forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
      continue;
    } else if (SET_BY_ROUTER.has(lower)) {
      if (lower === "x-request-id" && requestId === undefined && REQUEST_ID_OK.test(value)) requestId = value;
      else if (trusted && lower === "x-forwarded-proto") forwardedProto ??= value;
      else if (trusted && lower === "x-forwarded-host") forwardedHost ??= value;
      else if (trusted && lower === "x-forwarded-port") forwardedPort ??= value;
      continue;
    }
    out.push(name, value);
  }
  const clientAddress = normalizeAddress(peer);
  requestId ??= newRequestId();
  // HTTP/1.1 requires a Host header; an HTTP/1.0 client may send none, so send an empty one
  // (RFC 9112 3.2: what a client sends when the target has no authority).
  if (host === undefined) {
    host = hostOverride;
    out.push("Host", host ?? "");
  }
  out.push(
    "X-Forwarded-For",
    forwardedFor === undefined ? clientAddress : `${forwardedFor}, ${clientAddress}`,
    "X-Forwarded-Proto",
    forwardedProto ?? proto,
    "X-Forwarded-Host",
    forwardedHost ?? host ?? "",
    "X-Forwarded-Port",
    forwardedPort ?? String(localPort),
    "X-Request-Id",
    requestId,
  );
  if (upgrade) out.push("Connection", "Upgrade", "Upgrade", upgradeProtocol);
  return { headers: out, requestId, chunked, contentLength };
}

/** Response headers from the instance minus hop-by-hop ones; Node sets framing itself. */
export function forwardResponseHeaders(rawHeaders: readonly string[], connection: string | undefined): string[] {
  const extraHop = connectionTokens(connection);
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const lower = lowerShort(name);
    if (HOP_BY_HOP.has(lower) || extraHop?.has(lower)) continue;
    out.push(name, rawHeaders[i + 1] as string);
  }
  return out;
}

// Most header names arrive already in lower case (HTTP/2-era clients) or in canonical case; this
// avoids allocating a new string when the name is already lower case.
function lowerShort(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) return name.toLowerCase();
  }
  return name;
}

function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return "unknown";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}
