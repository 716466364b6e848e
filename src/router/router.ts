import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Server as NetServer, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { BatonError } from "../core/errors.js";
import { stopAccepting } from "../core/json-http.js";
import { acceptOn, listenTcp } from "../core/listen.js";
import { createLogger, type Logger } from "../core/log.js";
import { memoryReport, watchMemory } from "../core/memory.js";
import { settledWithin } from "../core/wait.js";
import { AccessLog } from "./access-log.js";
import { AdminApi } from "./admin.js";
import type { InboundRequest, OutboundResponse } from "./client-message.js";
import { STREAM_CLOSE_GRACE_MS } from "./drain.js";
import { Exchange, type ExchangeContext } from "./exchange.js";
import { FastPath } from "./fast/connection.js";
import { announceReady, isSuccessor, receiveListeners, startSuccessor } from "./handoff.js";
import { hostOf } from "./headers.js";
import { HealthCheck } from "./health-check.js";
import { cameOverTls, httpsLocation, sendHttpsRedirect, sendHttpsRedirectOnSocket } from "./https-redirect.js";
import { LocalOps } from "./ops.js";
import { type RouterOptions, type RouterUserOptions, resolveRouterOptions } from "./options.js";
import { sendPage, sendPageOnSocket } from "./pages.js";
import type { Pool } from "./pool.js";
import { restoreTable, SnapshotWriter } from "./snapshot.js";
import { RoutingTable } from "./table.js";
import type { Target } from "./target.js";
import { TlsListener } from "./tls-listener.js";
import { TrustedProxies } from "./trusted-proxies.js";
import { UpgradeExchange } from "./upgrade.js";

type RouterState = "created" | "listening" | "closing" | "closed";

/**
 * The data plane: a public HTTP listener that routes by Host to app Pools, and an admin API on a
 * unix socket. It never waits on the control plane: the routing table lives in memory, and a
 * snapshot on disk lets a restarted router route before the control plane speaks.
 *
 * Lifecycle: created → listening → closing (close(): stop accepting, let in-flight finish) →
 * closed. destroy() goes to closed at once.
 */
/**
 * Only an origin-form target ("/path?query") is forwarded. node:http also accepts absolute-form
 * ("http://host/path") and "*", which would reach the instance as they are: most apps read the
 * target as a path, and a Host that disagrees with the absolute URL is a request-smuggling aid.
 */
function isOriginForm(url: string | undefined): boolean {
  return url?.startsWith("/") === true;
}
const ONE_PATH_ONE_HOST = 'The request target must be a path starting with "/", with at most one Host header.';

export class Router {
  readonly options: RouterOptions;
  readonly table: RoutingTable;
  private readonly server: Server;
  private readonly fastPath: FastPath | undefined;
  private readonly admin: AdminApi;
  /** What the admin API (or a cluster primary, over IPC) asks of this router. */
  readonly ops: LocalOps;
  private readonly log: Logger;
  private state: RouterState = "created";
  private ctx: ExchangeContext;
  private readonly trustedProxies: TrustedProxies;
  private readonly startedAt = Date.now();
  private readonly accessLog: AccessLog | undefined;
  /** The HTTPS port (--https-port); undefined when the router serves plain HTTP only. */
  private readonly tls: TlsListener | undefined;
  /** Requests over TLS get this context (proto https, the HTTPS port); set once listening. */
  private tlsCtx: ExchangeContext | undefined;

  constructor(userOptions: RouterUserOptions = {}, log: Logger = createLogger("router")) {
    this.options = resolveRouterOptions(userOptions);
    this.log = log;
    const o = this.options;
    // The resolved options carry every limit the table needs.
    this.table = new RoutingTable(o);
    this.trustedProxies = new TrustedProxies(o.trustedProxies);
    this.accessLog = o.accessLog === undefined ? undefined : AccessLog.open(o.accessLog);
    this.ctx = this.exchangeContext(o.port, "http");
    this.server = createServer(
      {
        keepAliveTimeout: o.clientKeepAliveTimeoutMs,
        headersTimeout: o.clientHeadersTimeoutMs,
        // Node checks the headers timeout on this interval (30 s by default), so a slowloris
        // client could hold a socket up to 30 s past it.
        connectionsCheckingInterval: Math.max(250, Math.min(5_000, Math.floor(o.clientHeadersTimeoutMs / 4))),
        // Whole-request time limits would cut long uploads and streams; slow clients are caught
        // by the headers timeout and by the body timeout (exchange.ts).
        requestTimeout: 0,
        maxHeaderSize: o.maxHeaderBytes,
        insecureHTTPParser: false,
        noDelay: true,
      },
      this.onRequest,
    );
    this.server.on("upgrade", this.onUpgrade);
    this.server.on("clientError", this.onClientError);
    // Plain GETs and HEADs skip node:http's server side (fast/connection.ts); the rest go through it.
    this.fastPath = o.fastPath
      ? new FastPath(
          this.server,
          {
            keepAliveTimeoutMs: o.clientKeepAliveTimeoutMs,
            headersTimeoutMs: o.clientHeadersTimeoutMs,
            maxHeaderBytes: o.maxHeaderBytes,
          },
          this.onRequest,
        )
      : undefined;
    // A secure socket joins the plaintext server's HTTP handling: one parser, one set of timeouts.
    this.tls =
      o.tlsDir === undefined
        ? undefined
        : new TlsListener(
            o.tlsDir,
            o.clientHeadersTimeoutMs,
            (socket: TLSSocket) => this.server.emit("connection", socket),
            log,
          );
    this.ops = new LocalOps(this.table, async () => this.reloadTls());
    this.admin = new AdminApi(
      this.ops,
      this.options,
      () => ({
        pid: process.pid,
        uptimeMs: Date.now() - this.startedAt,
        host: this.options.host,
        port: this.port,
        httpsPort: this.httpsPort ?? null,
        apps: this.table.apps.size,
        // For bench/soak's memory-growth check (src/core/memory.ts says why the heap after GC).
        memory: memoryReport(),
      }),
      () => this.flushed(),
      () => this.handOff(),
    );
  }

  /** Set once a successor took over (handOff): responses close their connections. */
  private retiring = false;
  private resolveRetired: () => void = () => {};
  /** Resolves when this router has handed off, finished what it had in flight, and closed. */
  readonly retired = new Promise<void>((resolve) => {
    this.resolveRetired = resolve;
  });

  /** Resolves once the snapshot on disk has every routing change made so far. */
  private flushed: () => Promise<void> = async () => {};

  get port(): number {
    const address = this.server.address() as AddressInfo | null;
    return address?.port ?? this.options.port;
  }

  /** The bound HTTPS port; undefined without one. */
  get httpsPort(): number | undefined {
    return this.tls === undefined ? undefined : (this.tls.port ?? this.options.httpsPort);
  }

  /**
   * Read the TLS directory again (a renewal): new handshakes get the new certificates, open
   * connections keep theirs. On a bad file the certificates in use stay and the error is thrown.
   */
  reloadTls(): ReturnType<TlsListener["reload"]> {
    if (this.tls === undefined) {
      throw new BatonError("BATON_USAGE", "this router has no HTTPS port: start it with --https-port and --tls-dir");
    }
    return this.tls.reload();
  }

  async listen(): Promise<void> {
    watchMemory();
    if (this.state !== "created") throw new BatonError("BATON_USAGE", `router cannot listen while ${this.state}`);
    restoreTable(this.table, this.options.statePath, this.log);
    const snapshot = new SnapshotWriter(this.table, this.options.statePath, this.log);
    this.table.onChange = () => snapshot.changed();
    this.flushed = () => snapshot.flushed();
    let inherited: NetServer[] | undefined;
    try {
      // A successor accepts on its predecessor's listening socket instead of binding the port.
      inherited = isSuccessor() ? await receiveListeners(this.tls === undefined ? 1 : 2) : undefined;
      const plain = inherited?.[0];
      if (plain !== undefined) await acceptOn(this.server, plain);
      else await listenTcp(this.server, this.options.port, this.options.host, "--port");
      this.ctx = this.exchangeContext(this.port, "http");
      if (this.tls !== undefined) {
        await this.tls.listen(this.options.httpsPort ?? 0, this.options.host, inherited?.[1]);
        this.tlsCtx = this.exchangeContext(this.tls.port ?? 0, "https");
      }
      if (this.options.adminSocket !== undefined) await this.admin.listen(this.options.adminSocket);
    } catch (error) {
      // Whatever did bind (the HTTP port before a taken HTTPS port, say) is let go: a router that
      // cannot serve all it was asked to must exit, not linger holding half its ports.
      this.destroy();
      throw error;
    }
    this.state = "listening";
    if (inherited !== undefined) announceReady();
    this.log.info("router listening", {
      port: this.port,
      httpsPort: this.httpsPort,
      admin: this.options.adminSocket,
      apps: this.table.apps.size,
    });
  }

  /**
   * Restart or upgrade in place: start a successor on the same listening socket (handoff.ts),
   * then retire. The admin socket is given up first (closing a unix listener removes its file, so
   * it must happen before the successor binds the path, not after). If the successor fails, this
   * router takes its admin socket back and goes on as before.
   */
  async handOff(): Promise<{ pid: number }> {
    if (this.state !== "listening" || this.retiring) {
      throw new BatonError("BATON_USAGE", `router cannot hand off while ${this.retiring ? "retiring" : this.state}`);
    }
    await this.flushed();
    const adminSocket = this.options.adminSocket;
    this.admin.stopListening();
    let pid: number;
    try {
      pid = await startSuccessor(this.tls === undefined ? [this.server] : [this.server, this.tls.server]);
    } catch (error) {
      if (adminSocket !== undefined) await this.admin.listen(adminSocket);
      throw error;
    }
    this.log.info("router handed off", { successor: pid });
    setImmediate(() => void this.retire());
    return { pid };
  }

  /**
   * After a handoff: accept nothing more (the successor does), and let every client move over by
   * itself. Each response now says Connection: close, so a connection ends after its next
   * request; one that sends nothing more is closed by the keep-alive timeout, or at the drain
   * timeout at the latest. Closing idle keep-alive connections at once would race clients that
   * are sending their next request on them (a reset, a failed request). Long connections get
   * their polite close (WebSocket 1001, end of an event stream) spread over the stream window.
   */
  private async retire(): Promise<void> {
    this.retiring = true;
    this.state = "closing";
    // "close" comes once the last client connection has ended.
    const connectionsClosed = Promise.all(
      [this.server as NetServer, this.tls?.server].map(
        (server) => new Promise<void>((resolve) => (server === undefined ? resolve() : server.once("close", resolve))),
      ),
    );
    stopAccepting(this.server);
    if (this.tls !== undefined) stopAccepting(this.tls.server);
    const targets = this.allTargets();
    const window = this.options.streamCloseWindowMs;
    const timers = targets
      .flatMap((t) => t.openStreams())
      .map((stream) => setTimeout(() => stream.closeGracefully(), Math.random() * window));
    await settledWithin(
      Promise.all([connectionsClosed, ...targets.map((t) => t.whenNoStreams())]),
      Math.max(this.options.drainTimeoutMs, window + STREAM_CLOSE_GRACE_MS),
    );
    for (const timer of timers) clearTimeout(timer);
    this.destroy();
    this.resolveRetired();
  }

  private allTargets(): Target[] {
    const all = new Set<Target>();
    for (const app of this.table.apps.values())
      for (const pool of [app.active, app.canary]) for (const t of pool?.targets ?? []) all.add(t);
    for (const { pool } of this.table.handedBack.values()) for (const t of pool.targets) all.add(t);
    return [...all];
  }

  /** Graceful: stop accepting, answer held requests, let in-flight ones finish (bounded). */
  async close(timeoutMs = this.options.drainTimeoutMs): Promise<void> {
    if (this.state === "closed" || this.state === "closing") return;
    this.state = "closing";
    const closed = Promise.all(
      [this.server as NetServer, this.tls?.server].map(
        (server) => new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve()))),
      ),
    );
    this.server.closeIdleConnections();
    this.fastPath?.closeIdle();
    for (const app of this.table.apps.values()) app.hold.expireAll();
    await settledWithin(closed, timeoutMs);
    await this.flushed();
    this.destroy();
  }

  /** Immediate: cut every connection. Idempotent. */
  destroy(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.server.closeAllConnections();
    this.fastPath?.destroyAll();
    this.server.close();
    this.tls?.server.close();
    this.accessLog?.flush();
    void this.admin.close();
    for (const app of this.table.apps.values()) {
      app.hold.expireAll();
      for (const pool of [app.active, app.canary]) for (const t of pool?.targets ?? []) t.close();
    }
    for (const { pool } of this.table.handedBack.values()) for (const t of pool.targets) t.close();
  }

  private exchangeContext(localPort: number, proto: "http" | "https"): ExchangeContext {
    const o = this.options;
    return {
      proto,
      localPort,
      connectTimeoutMs: o.connectTimeoutMs,
      responseHeadersTimeoutMs: o.responseHeadersTimeoutMs,
      clientBodyTimeoutMs: o.clientBodyTimeoutMs,
      maxConnectAttempts: o.maxConnectAttempts,
      trustedProxies: this.trustedProxies,
      accessLog: this.accessLog,
      eject: (target: Target, pool: Pool, reason: string) => {
        if (target.state !== "ready") return;
        this.log.warn(`target ejected: ${reason}`, { target: target.id, release: pool.release });
        target.eject(
          new HealthCheck(target.host, target.port, pool.healthPath, o.healthCheckIntervalMs, o.connectTimeoutMs),
        );
      },
    };
  }

  private readonly onRequest = (req: InboundRequest, res: OutboundResponse): void => {
    // A retiring router answers, then closes: the client's next request goes to the successor.
    if (this.retiring) res.shouldKeepAlive = false;
    const host = hostOf(req.rawHeaders);
    if (host === null || !isOriginForm(req.url)) {
      sendPage(req, res, "BATON_ROUTER_BAD_REQUEST", { detail: ONE_PATH_ONE_HOST });
      return;
    }
    const app = this.table.resolve(host);
    if (app === undefined) {
      sendPage(req, res, "BATON_ROUTER_NO_APP", { detail: `No app is configured for host "${host ?? ""}".` });
      return;
    }
    if (app.redirectHttps && !cameOverTls(req, this.trustedProxies)) {
      sendHttpsRedirect(req, res, httpsLocation(req, host, this.httpsPort, this.trustedProxies));
      return;
    }
    if (app.maintenance.enabled) {
      app.stats.notRouted++;
      sendPage(req, res, "BATON_ROUTER_MAINTENANCE", {
        retryAfterS: app.maintenance.retryAfterS,
        ...(app.maintenance.html === undefined ? {} : { html: app.maintenance.html }),
      });
      return;
    }
    new Exchange(this.contextOf(req), app, req, res).start();
  };

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const host = hostOf(req.rawHeaders);
    if (host === null || !isOriginForm(req.url)) {
      sendPageOnSocket(socket, "BATON_ROUTER_BAD_REQUEST", req.headers.accept);
      return;
    }
    const app = this.table.resolve(host);
    if (app?.redirectHttps === true && !cameOverTls(req, this.trustedProxies)) {
      sendHttpsRedirectOnSocket(socket, httpsLocation(req, host, this.httpsPort, this.trustedProxies));
      return;
    }
    if (app === undefined || app.maintenance.enabled) {
      sendPageOnSocket(
        socket,
        app === undefined ? "BATON_ROUTER_NO_APP" : "BATON_ROUTER_MAINTENANCE",
        req.headers.accept,
      );
      return;
    }
    new UpgradeExchange(this.contextOf(req), app, req, socket, head).start();
  };

  /** Without an HTTPS port this is one check of a field that is always undefined. */
  private contextOf(req: InboundRequest): ExchangeContext {
    const tlsCtx = this.tlsCtx;
    return tlsCtx !== undefined && (req.socket as TLSSocket).encrypted === true ? tlsCtx : this.ctx;
  }

  /** Malformed requests never reach an instance: the parser rejects them here. */
  private readonly onClientError = (error: NodeJS.ErrnoException, socket: Socket): void => {
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    if (error.code === "HPE_HEADER_OVERFLOW") sendPageOnSocket(socket, "BATON_ROUTER_HEADERS_TOO_LARGE");
    else if (error.code === "ERR_HTTP_REQUEST_TIMEOUT" || error.code === "ERR_HTTP_HEADERS_TIMEOUT") {
      sendPageOnSocket(socket, "BATON_ROUTER_CLIENT_TIMEOUT", undefined, {
        detail: `The request headers did not arrive within ${Math.round(this.options.clientHeadersTimeoutMs / 1000)} s.`,
      });
    } else sendPageOnSocket(socket, "BATON_ROUTER_BAD_REQUEST");
  };
}
