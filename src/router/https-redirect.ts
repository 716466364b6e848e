import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { InboundRequest, OutboundResponse } from "./client-message.js";
import { sendPage, sendPageOnSocket } from "./pages.js";
import type { TrustedProxies } from "./trusted-proxies.js";

/** A host name, an IPv4 address or a bracketed IPv6 one, with an optional port. */
const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Whether the client's request came over TLS: on the router's own HTTPS port, or through a
 * trusted proxy that says so (X-Forwarded-Proto: https). Only asked for apps that redirect.
 */
export function cameOverTls(req: InboundRequest, trustedProxies: TrustedProxies): boolean {
  if ((req.socket as TLSSocket).encrypted === true) return true;
  if (!trustedProxies.has(req.socket.remoteAddress)) return false;
  const proto = req.headers["x-forwarded-proto"];
  return typeof proto === "string" && proto.split(",")[0]?.trim().toLowerCase() === "https";
}

/**
 * The same URL over HTTPS. The port is the router's HTTPS port, left out when it is 443 or when
 * a trusted proxy in front (whose public port the router cannot know) terminates TLS. Undefined
 * when the Host header cannot be put in a URL as it is.
 */
export function httpsLocation(
  req: InboundRequest,
  hostHeader: string | undefined,
  httpsPort: number | undefined,
  trustedProxies: TrustedProxies,
): string | undefined {
  if (hostHeader === undefined || !HOST_HEADER.test(hostHeader)) return undefined;
  const host = hostHeader.startsWith("[")
    ? hostHeader.slice(0, hostHeader.indexOf("]") + 1)
    : (hostHeader.split(":")[0] as string);
  const viaProxy = trustedProxies.has(req.socket.remoteAddress);
  const port = httpsPort === undefined || httpsPort === 443 || viaProxy ? "" : `:${httpsPort}`;
  // An absolute-form target (GET http://host/path) is not repeated: its path is what matters.
  const url = req.url ?? "/";
  const path = url.startsWith("/") ? url : "/";
  return `https://${host.toLowerCase()}${port}${path}`;
}

/** 308 keeps the method and body (a POST stays a POST), unlike 301. */
export function sendHttpsRedirect(req: InboundRequest, res: OutboundResponse, location: string | undefined): void {
  if (location === undefined) {
    sendPage(req, res, "BATON_ROUTER_BAD_REQUEST", { detail: "The Host header cannot be redirected to HTTPS." });
    return;
  }
  res.writeHead(308, { Location: location, "Content-Length": 0 });
  res.end();
}

/** The same for an upgrade request (a WebSocket over ws://): answered, then the socket closed. */
export function sendHttpsRedirectOnSocket(socket: Duplex, location: string | undefined): void {
  if (location === undefined) {
    sendPageOnSocket(socket, "BATON_ROUTER_BAD_REQUEST");
    return;
  }
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 308 Permanent Redirect\r\nLocation: ${location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
  );
}
