import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { InboundRequest, OutboundResponse } from "../client-message.js";
import { FastRequest, parseRequestHead } from "./request.js";
import { FastResponse, type ResponseOwner } from "./response.js";

/**
 * The router's fast path for client connections. Profiling bench/router showed node:http's
 * server side (IncomingMessage, ServerResponse, their streams and header handling) as the largest
 * part of the router's user CPU per proxied request; without it the router serves about 1.3x the
 * requests per second (`npm run bench:router` runs it with and without `--node-http`).
 *
 * Every accepted connection starts here. As long as its requests are plain bodiless HTTP/1.1 GETs
 * and HEADs in strict syntax (request.ts), the router parses them itself and writes the answers
 * straight to the socket. At the first request that is anything else (a body, an upgrade, an
 * Expect, a head split over several reads, a malformed line) the connection is handed to node:http
 * with the bytes not yet parsed, at a request boundary, and stays there: node:http's parser,
 * limits, timeouts and error answers then apply exactly as before.
 */

export interface FastPathOptions {
  /** Idle time allowed between two requests on a connection. */
  keepAliveTimeoutMs: number;
  /** Time allowed for the first request's head after the connection opens (slow clients). */
  headersTimeoutMs: number;
  /** A head larger than this goes to node:http, which answers 431. */
  maxHeaderBytes: number;
}

type RequestListener = (req: InboundRequest, res: OutboundResponse) => void;
type ConnectionListener = (this: Server, socket: Socket) => void;

const CRLF2 = Buffer.from("\r\n\r\n");

/** The fast path of one HTTP server: it takes over the server's "connection" event. */
export class FastPath {
  private readonly connections = new Set<FastConnection>();
  private readonly nodeListener: ConnectionListener;
  /** Set by closeIdle(): every response from now on closes its connection. */
  closing = false;

  constructor(
    readonly server: Server,
    readonly options: FastPathOptions,
    readonly onRequest: RequestListener,
  ) {
    // node:http handles a connection by its own "connection" listener; keep it for hand-offs.
    const listeners = server.listeners("connection") as ConnectionListener[];
    if (listeners.length !== 1) throw new Error("the fast path must be set up on a fresh http.Server");
    this.nodeListener = listeners[0] as ConnectionListener;
    server.removeListener("connection", this.nodeListener);
    server.on("connection", (socket: Socket) => {
      this.connections.add(new FastConnection(this, socket));
    });
  }

  /** Give `socket` to node:http, with `unparsed` bytes put back in front of what comes next. */
  handOff(connection: FastConnection, socket: Socket, unparsed: Buffer | null): void {
    this.connections.delete(connection);
    socket.pause();
    if (unparsed !== null && unparsed.length > 0) socket.unshift(unparsed);
    this.nodeListener.call(this.server, socket);
    socket.resume();
  }

  forget(connection: FastConnection): void {
    this.connections.delete(connection);
  }

  /** As node:http's closeIdleConnections(): end connections between requests; the rest close after their response. */
  closeIdle(): void {
    this.closing = true;
    for (const c of this.connections) if (c.idle) c.socket.destroy();
  }

  /** Cut every connection still on the fast path. */
  destroyAll(): void {
    for (const c of this.connections) c.socket.destroy();
    this.connections.clear();
  }
}

/** One client connection while it is on the fast path. */
export class FastConnection implements ResponseOwner {
  readonly keepAliveTimeoutS: number;
  /** Bytes received and not yet parsed (the start of the next request). */
  private unparsed: Buffer | null = null;
  /** The response in progress; requests on a connection are answered one at a time, in order. */
  private current: FastResponse | null = null;
  /** A response was written: the keep-alive timeout (not the first-request one) applies from then on. */
  private servedOne = false;
  private done = false;
  private parseScheduled = false;
  /** The client closed its sending side: answer the request in progress, then close. */
  private clientEnded = false;

  constructor(
    private readonly path: FastPath,
    readonly socket: Socket,
  ) {
    this.keepAliveTimeoutS = Math.floor(path.options.keepAliveTimeoutMs / 1000);
    socket.setNoDelay(true);
    socket.setTimeout(path.options.headersTimeoutMs);
    // Errors are heard through "close" (the response in progress is told there).
    socket.on("error", ignore);
    this.listen(true);
  }

  /** Put on or take off the socket listeners of the fast path. */
  private listen(on: boolean): void {
    const socket = this.socket;
    const toggle = on ? socket.on : socket.off;
    toggle.call(socket, "data", this.onData);
    toggle.call(socket, "end", this.onEnd);
    toggle.call(socket, "drain", this.onDrain);
    toggle.call(socket, "timeout", this.onTimeout);
    toggle.call(socket, "close", this.onClose);
  }

  get idle(): boolean {
    return this.current === null;
  }

  responseDone(response: FastResponse, keepAlive: boolean): void {
    if (response !== this.current) return;
    this.current = null;
    if (!keepAlive || this.path.closing || this.clientEnded) {
      this.finish(false);
      this.closeAfterWrites();
      return;
    }
    if (!this.servedOne) {
      this.servedOne = true;
      this.socket.setTimeout(this.path.options.keepAliveTimeoutMs);
    }
    if (this.socket.isPaused()) this.socket.resume();
    // Parsed on the next turn, not inside the router's end() call that brought us here.
    if (this.unparsed !== null && !this.parseScheduled) {
      this.parseScheduled = true;
      setImmediate(this.parseNext);
    }
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.done) return;
    this.unparsed = this.unparsed === null ? chunk : Buffer.concat([this.unparsed, chunk]);
    if (this.current !== null) {
      // Pipelined bytes while a response is in progress: keep them, within bounds.
      if (this.unparsed.length > this.path.options.maxHeaderBytes) this.socket.pause();
      return;
    }
    this.parseNext();
  };

  private readonly parseNext = (): void => {
    this.parseScheduled = false;
    if (this.done || this.current !== null) return;
    const data = this.unparsed;
    if (data === null) return;
    const end = data.indexOf(CRLF2);
    // Not a complete head within the limit (split over reads, or too large): node:http's parser
    // takes it from here, with its headers timeout and its 431.
    const head =
      end < 0 || end > this.path.options.maxHeaderBytes ? null : parseRequestHead(data.toString("latin1", 0, end));
    if (head === null) {
      this.handOff();
      return;
    }
    this.unparsed = end + 4 < data.length ? data.subarray(end + 4) : null;
    const request = new FastRequest(head.method, head.url, head.rawHeaders, this.socket);
    const response = new FastResponse(this, head.method === "HEAD", !head.close && !this.path.closing);
    this.current = response;
    this.path.onRequest(request, response);
  };

  private handOff(): void {
    this.finish(true);
    const unparsed = this.unparsed;
    this.unparsed = null;
    this.path.handOff(this, this.socket, unparsed);
  }

  /** Leave the socket: no more of our listeners or timeouts on it (node:http's come next when `handingOff`). */
  private finish(handingOff: boolean): void {
    if (this.done) return;
    this.done = true;
    const socket = this.socket;
    socket.setTimeout(0);
    this.listen(false);
    if (handingOff) {
      // node:http's own error handling takes over.
      socket.off("error", ignore);
      this.path.forget(this);
      return;
    }
    // Still ours until it is gone (destroyAll() may have to cut it); errors while it closes
    // keep being ignored.
    if (socket.destroyed) this.path.forget(this);
    else socket.once("close", () => this.path.forget(this));
  }

  /**
   * The client sent FIN. As node:http does (it does not allow half-open HTTP connections): close
   * our side too. A response in progress is cut there, and its Exchange stops the instance's side.
   */
  private readonly onEnd = (): void => {
    this.clientEnded = true;
    this.unparsed = null;
    if (this.current === null) this.socket.destroy();
    else this.closeAfterWrites();
  };

  /**
   * As node:http does: end our side once what is written has gone out, then close without
   * waiting for the client's side. A client that stops reading meanwhile is cut at the
   * keep-alive timeout, so a closing connection never waits without bound.
   */
  private closeAfterWrites(): void {
    const socket = this.socket;
    socket.end();
    if (socket.writableFinished) {
      socket.destroy();
      return;
    }
    const destroy = () => socket.destroy();
    socket.once("finish", destroy);
    socket.setTimeout(this.path.options.keepAliveTimeoutMs, destroy);
  }

  private readonly onDrain = (): void => {
    this.current?.socketDrained();
  };

  /** Idle past the keep-alive timeout (or no first request in time): close. A response in progress is never cut. */
  private readonly onTimeout = (): void => {
    if (this.current !== null) return;
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    const current = this.current;
    this.current = null;
    this.unparsed = null;
    this.finish(false);
    current?.socketClosed();
  };
}

function ignore(): void {}
