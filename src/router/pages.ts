import type { Duplex } from "node:stream";
import { ERROR_CATALOG, type ErrorCode } from "../core/errors.js";
import type { InboundRequest, OutboundResponse } from "./client-message.js";

const TITLES: Partial<Record<ErrorCode, string>> = {
  BATON_ROUTER_NO_APP: "No app here",
  BATON_ROUTER_MAINTENANCE: "Down for maintenance",
  BATON_ROUTER_HOLD_TIMEOUT: "The app is starting",
  BATON_ROUTER_HOLD_FULL: "The app is busy",
  BATON_ROUTER_QUEUE_TIMEOUT: "The app is busy",
  BATON_ROUTER_UPSTREAM_CONNECT: "Bad gateway",
  BATON_ROUTER_UPSTREAM_RESET: "Bad gateway",
  BATON_ROUTER_UPSTREAM_TIMEOUT: "Gateway timeout",
  BATON_ROUTER_BAD_REQUEST: "Bad request",
  BATON_ROUTER_HEADERS_TOO_LARGE: "Request headers too large",
  BATON_ROUTER_CLIENT_TIMEOUT: "Request timeout",
};

export interface PageOptions {
  detail?: string;
  retryAfterS?: number;
  requestId?: string;
  /** Custom HTML (maintenance page set by the app's owner). */
  html?: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The router's own answers, in HTML for browsers and JSON for API clients (chosen by Accept), so
 * a person sees what happened and a program gets a stable code.
 */
export function renderPage(code: ErrorCode, acceptHeader: string | undefined, options: PageOptions = {}) {
  const { status, summary } = ERROR_CATALOG[code];
  const wantsJson = acceptHeader?.includes("json") === true && !acceptHeader.includes("html");
  const detail = options.detail ?? summary;
  if (wantsJson) {
    return {
      status,
      contentType: "application/json; charset=utf-8",
      body: JSON.stringify({
        error: { code, message: detail, ...(options.requestId ? { requestId: options.requestId } : {}) },
      }),
    };
  }
  const title = TITLES[code] ?? "Error";
  const body =
    options.html ??
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
      `<title>${status} ${escapeHtml(title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}` +
      `code{background:#f2f2f2;padding:.1rem .3rem}</style></head><body><h1>${escapeHtml(title)}</h1>` +
      `<p>${escapeHtml(detail)}</p><p><small><code>${code}</code>${
        options.requestId ? ` · request <code>${escapeHtml(options.requestId)}</code>` : ""
      }</small></p></body></html>\n`;
  return { status, contentType: "text/html; charset=utf-8", body };
}

export function sendPage(req: InboundRequest, res: OutboundResponse, code: ErrorCode, options: PageOptions = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const page = renderPage(code, req.headers.accept, options);
  const headers: Record<string, string | number> = {
    "Content-Type": page.contentType,
    "Content-Length": Buffer.byteLength(page.body),
    "Cache-Control": "no-store",
    "X-Baton-Error": code,
  };
  if (options.retryAfterS !== undefined) headers["Retry-After"] = options.retryAfterS;
  if (options.requestId !== undefined) headers["X-Request-Id"] = options.requestId;
  res.writeHead(page.status, headers);
  res.end(req.method === "HEAD" ? undefined : page.body);
}

/** Same answer on a raw socket (upgrade requests and parser errors have no ServerResponse). */
export function sendPageOnSocket(socket: Duplex, code: ErrorCode, accept?: string, options: PageOptions = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const page = renderPage(code, accept, options);
  const retry = options.retryAfterS === undefined ? "" : `Retry-After: ${options.retryAfterS}\r\n`;
  socket.end(
    `HTTP/1.1 ${page.status} ${TITLES[code] ?? "Error"}\r\nContent-Type: ${page.contentType}\r\n` +
      `Content-Length: ${Buffer.byteLength(page.body)}\r\nConnection: close\r\nX-Baton-Error: ${code}\r\n${retry}\r\n${page.body}`,
  );
}
