import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { BatonError } from "../core/errors.js";
import { closeServer, replyError } from "../core/json-http.js";
import { listenTcp, tcpPort } from "../core/listen.js";
import type { Logger } from "../core/log.js";
import type { EventLog } from "../deploy/events.js";
import type { Metrics } from "../observe/metrics.js";
import type { TrafficSampler } from "../observe/traffic.js";
import type { ServerApi } from "./server-api.js";
import { cookieValue, SESSION_COOKIE, Sessions } from "./sessions.js";
import type { ServerToken } from "./token.js";

/** The dashboard's files: plain HTML, CSS and ES modules shipped in the package, no build step. */
const ASSETS_DIR = fileURLToPath(new URL("../../../dashboard/", import.meta.url));
const ASSET = /^\/assets\/([a-z0-9-]+\.(?:js|css|svg))$/;
const CONTENT_TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};
const MAX_FORM_BYTES = 4096;
const HEARTBEAT_MS = 15_000;

/**
 * On every answer: scripts and styles only from this origin (no inline script can run, so an
 * injected string cannot become code), never framed (clickjacking), no MIME sniffing, no Referer
 * leaving the page.
 */
const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
};

/** Deploy and instance events go to the live views; the audit trail and webhook deliveries do not. */
const LIVE_EVENT = /^(deploy|instance|app|config)\./;

export interface WebServerOptions {
  token: ServerToken;
  api: ServerApi;
  metrics: Metrics;
  events: EventLog;
  traffic: TrafficSampler;
  log: Logger;
}

/**
 * `baton server --http-port`: the dashboard and `/metrics` on TCP (loopback by default).
 * - `/login` trades the server's token for a session cookie; the token never appears in a URL.
 * - `/api/v1/...` is the server's own API (the routes the CLI uses), behind the session cookie.
 * - `/events` streams deploy events and the router's live numbers as server-sent events.
 * - `/metrics` is Prometheus' text format, for `Authorization: Bearer <token>` or a session.
 */
export class WebServer {
  private readonly server: Server;
  private readonly sessions = new Sessions();
  private readonly streams = new Set<ServerResponse>();

  constructor(private readonly opts: WebServerOptions) {
    // A rotated token signs everyone out: a session must not outlive the secret it was traded for,
    // and neither must the live streams opened with one (the page then asks to sign in again).
    opts.token.onRotate(() => {
      this.sessions.endAll();
      for (const res of this.streams) res.end();
    });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        opts.log.error("dashboard request failed", { url: req.url, error: String((error as Error)?.message ?? error) });
        replyError(res, error);
      });
    });
  }

  /** `option` names the flag that chose the port, for the error when it is taken. */
  listen(port: number, host: string, option?: string): Promise<number> {
    return listenTcp(this.server, port, host, option);
  }

  get port(): number | undefined {
    return tcpPort(this.server);
  }

  async close(): Promise<void> {
    for (const res of this.streams) res.end();
    await closeServer(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const url = new URL(req.url ?? "/", "http://baton");
    const path = url.pathname;
    const session = cookieValue(req.headers.cookie, SESSION_COOKIE);
    const signedIn = (): boolean => this.sessions.touch(session);

    if (path === "/metrics" && req.method === "GET") return this.metrics(req, res, signedIn);
    const asset = ASSET.exec(path);
    if (asset !== null && req.method === "GET") return this.asset(res, asset[1] as string);
    if (path === "/login") {
      if (req.method === "POST") return this.login(req, res);
      return this.page(res, 200, "login.html", "");
    }
    if (path === "/logout" && req.method === "POST") {
      this.sessions.end(session);
      res.setHeader("Set-Cookie", `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
      return redirect(res, "/login");
    }
    if (path.startsWith("/api/")) {
      if (!signedIn()) throw new BatonError("BATON_UNAUTHORIZED", "not signed in to the dashboard");
      return this.api(req, res, path);
    }
    if (path === "/events" && req.method === "GET") {
      if (!signedIn()) throw new BatonError("BATON_UNAUTHORIZED", "not signed in to the dashboard");
      return this.stream(req, res);
    }
    if (path === "/" && req.method === "GET") {
      if (!signedIn()) return redirect(res, "/login");
      return this.page(res, 200, "index.html", "");
    }
    throw new BatonError("BATON_NOT_FOUND", `no page ${req.method} ${path}`);
  }

  private async metrics(req: IncomingMessage, res: ServerResponse, signedIn: () => boolean): Promise<void> {
    const header = req.headers.authorization ?? "";
    const bearer = header.startsWith("Bearer ") && this.opts.token.matches(header.slice(7));
    if (!bearer && !signedIn()) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="baton"');
      throw new BatonError("BATON_UNAUTHORIZED", "/metrics needs the server's token", {
        hint: "scrape with `authorization: { credentials_file: <home>/token }` (Prometheus) or sign in to the dashboard",
      });
    }
    const text = await this.opts.metrics.text();
    res.writeHead(200, { "Content-Type": this.opts.metrics.contentType, "Cache-Control": "no-store" });
    res.end(text);
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readForm(req));
    const given = (form.get("token") ?? "").trim();
    if (!this.opts.token.matches(given)) {
      this.opts.log.warn("dashboard login refused: wrong token", { remote: req.socket.remoteAddress });
      return this.page(res, 401, "login.html", '<p class="error" role="alert">That is not the server\'s token.</p>');
    }
    const id = this.sessions.create();
    // Secure when a TLS proxy in front says the browser used https (loopback itself is plain HTTP).
    const secure = req.headers["x-forwarded-proto"] === "https" ? "; Secure" : "";
    res.setHeader("Set-Cookie", `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200${secure}`);
    this.opts.log.info("dashboard login", { remote: req.socket.remoteAddress });
    return redirect(res, "/");
  }

  /**
   * The API the CLI uses, for a signed-in browser. SameSite=Strict already keeps other sites'
   * requests from carrying the cookie; a change must also come from this origin and as JSON,
   * which a plain cross-site form cannot send.
   */
  private async api(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== "GET") {
      const origin = req.headers.origin;
      const json = (req.headers["content-type"] ?? "").startsWith("application/json");
      if ((origin !== undefined && !sameHost(origin, req.headers.host)) || !json) {
        throw new BatonError("BATON_FORBIDDEN", "a change through the dashboard must come from its own page", {
          hint: "open the dashboard itself; the CLI uses the API socket",
        });
      }
    }
    req.url = `${path.slice("/api".length)}${req.url?.includes("?") ? req.url.slice(req.url.indexOf("?")) : ""}`;
    req.headers["x-baton-actor"] = `dashboard@${req.socket.remoteAddress ?? "?"}`;
    await this.opts.api.dispatch(req, res);
  }

  /** Server-sent events: `deploy` for each deploy or instance event, `traffic` every second. */
  private stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Accel-Buffering": "no",
    });
    res.write("retry: 2000\n\n");
    const send = (event: string, data: unknown): void => {
      if (!res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const latest = this.opts.traffic.latest();
    if (latest !== undefined) send("traffic", latest);
    const unsubscribeEvents = this.opts.events.subscribe((event) => {
      if (LIVE_EVENT.test(event.kind)) send("deploy", event);
    });
    const unsubscribeTraffic = this.opts.traffic.subscribe((sample) => send("traffic", sample));
    const heartbeat = setInterval(() => res.write(": heartbeat\n\n"), HEARTBEAT_MS);
    this.streams.add(res);
    const stop = (): void => {
      clearInterval(heartbeat);
      unsubscribeEvents();
      unsubscribeTraffic();
      this.streams.delete(res);
    };
    req.once("close", stop);
    res.once("close", stop);
  }

  private asset(res: ServerResponse, name: string): void {
    let body: Buffer;
    try {
      body = readFileSync(`${ASSETS_DIR}${name}`);
    } catch {
      throw new BatonError("BATON_NOT_FOUND", `no asset ${name}`);
    }
    res.writeHead(200, {
      "Content-Type": CONTENT_TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream",
      "Content-Length": body.length,
      "Cache-Control": "no-cache",
    });
    res.end(body);
  }

  private page(res: ServerResponse, status: number, name: string, message: string): void {
    const html = readFileSync(`${ASSETS_DIR}${name}`, "utf8").replace("<!--message-->", message);
    res.writeHead(status, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
    res.end(html);
  }
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { Location: location, "Content-Length": 0 });
  res.end();
}

async function readForm(req: IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > MAX_FORM_BYTES) throw new BatonError("BATON_USAGE", "the form is too large");
  }
  return body;
}
