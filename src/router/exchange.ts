import { performance } from "node:perf_hooks";
import type { ErrorCode } from "../core/errors.js";
import type { AccessLog } from "./access-log.js";
import { type AppRoute, stickyCookie } from "./app-route.js";
import type { InboundRequest, OutboundResponse } from "./client-message.js";
import { forwardRequestHeaders, forwardResponseHeaders } from "./headers.js";
import type { Waiter } from "./hold.js";
import { sendPage } from "./pages.js";
import type { Pool } from "./pool.js";
import { SseStream } from "./sse-stream.js";
import type { ReleaseStats } from "./stats.js";
import type { InFlight, Target } from "./target.js";
import type { TrustedProxies } from "./trusted-proxies.js";
import type { UpstreamConnection, UpstreamHandler } from "./upstream/connection.js";
import type { ResponseHead } from "./upstream/response-parser.js";

/** What an Exchange needs from the router, fixed for the router's lifetime. */
export interface ExchangeContext {
  readonly proto: "http" | "https";
  readonly localPort: number;
  readonly connectTimeoutMs: number;
  readonly responseHeadersTimeoutMs: number;
  /** Longest pause allowed between two reads of a request body. */
  readonly clientBodyTimeoutMs: number;
  readonly maxConnectAttempts: number;
  /** Peers whose X-Forwarded-* headers are kept. */
  readonly trustedProxies: TrustedProxies;
  /** Set when access logs are on (access-log.ts); undefined costs nothing per request. */
  readonly accessLog?: AccessLog | undefined;
  /** Take a Target that refused a connection or did not answer in time out of rotation until its active check passes. */
  eject(target: Target, pool: Pool, reason: string): void;
}

/** Methods that may be sent twice without changing the outcome (RFC 9110 9.2.2). */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);
/** A body up to this size is kept so an idempotent request can be replayed on another Target. */
const REPLAY_LIMIT_BYTES = 64 * 1024;
const LAST_CHUNK = "0\r\n\r\n";

/**
 * One client request through the router, from choosing a Target to the last response byte. The
 * retry policy lives here:
 *  - never reached an instance (connect refused or timed out): retried on another Target,
 *    whatever the method, because the body is only read once a connection stands;
 *  - reached an instance but failed before any response byte: retried once on another Target
 *    when the method is idempotent and its body (if any) is still in hand;
 *  - anything else (a POST that reached an instance, a response already started): never retried.
 * When no Target is ready the request is held, not failed.
 */
export class Exchange implements Waiter, InFlight {
  private readonly started = performance.now();
  /** The request head as sent to every Target tried (built once). */
  private readonly head: string;
  private readonly requestId: string;
  private readonly hasBody: boolean;
  /** The client sent a chunked body: it is re-chunked towards the instance. */
  private readonly chunked: boolean;
  /** A small body of known length, read whole before an instance is chosen (see start()). */
  private readonly bufferFirst: boolean;
  private bodyTimer: NodeJS.Timeout | undefined;
  private readonly idempotent: boolean;
  private attempt: Attempt | undefined;
  private attempts = 0;
  private reachedRetries = 0;
  private previousTarget: Target | undefined;
  private deadline = 0;
  private held = false;
  /** Waiting for a free slot on an instance (the app's per-instance limit), not for a ready one. */
  private queued = false;
  /** Inside resume(): the queue handed this request its turn, so it may take a free slot. */
  private resuming = false;
  private finished = false;
  private bodyReading = false;
  private bodyEnded = false;
  /** Body chunks seen so far, for a replay; null once the body outgrew the replay limit. */
  private bodyChunks: Buffer[] | null = [];
  private bodyBytes = 0;
  private stream: SseStream | undefined;
  /** A response head was given to `res` but not yet written out (it waits for the first body bytes). */
  private headPending = false;

  constructor(
    private readonly ctx: ExchangeContext,
    private readonly app: AppRoute,
    private readonly req: InboundRequest,
    private readonly res: OutboundResponse,
  ) {
    const forwarded = forwardRequestHeaders(req, ctx.proto, ctx.localPort, false, ctx.trustedProxies, app.forwardHost);
    this.requestId = forwarded.requestId;
    const cl = forwarded.contentLength;
    this.chunked = forwarded.chunked;
    this.hasBody = this.chunked || (cl !== undefined && cl !== "0");
    this.bufferFirst = this.hasBody && !this.chunked && Number(cl) <= REPLAY_LIMIT_BYTES;
    this.idempotent = IDEMPOTENT.has(req.method ?? "GET");
    const h = forwarded.headers;
    let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < h.length; i += 2) head += `${h[i]}: ${h[i + 1]}\r\n`;
    if (this.chunked) head += "Transfer-Encoding: chunked\r\n";
    this.head = `${head}\r\n`;
    res.on("close", this.onClientClose);
  }

  /**
   * A small body of known length is read whole before any instance is chosen, as nginx and
   * HAProxy can: a client that trickles it (slowloris) ties up only its own socket, never an
   * instance's connection, and the request can go to another Target whatever happens to the
   * first. Bigger and chunked bodies (uploads, streams) go to the instance as they arrive.
   */
  start(): void {
    if (this.bufferFirst) this.readBody();
    else this.route();
  }

  // ---- choosing a Target, holding ----

  private route(): void {
    if (this.finished) return;
    const choice = this.app.choose(this.req);
    if (choice === null) {
      this.hold();
      return;
    }
    const limit = this.app.maxRequestsPerInstance;
    // With a limit, a new request does not overtake those already waiting for a slot.
    if (limit > 0 && !this.resuming && this.app.hold.size > 0) {
      this.queue();
      return;
    }
    const target = choice.pool.pick(this.previousTarget, limit) ?? choice.pool.pick(undefined, limit);
    if (target === undefined) {
      if (limit > 0 && choice.pool.ready) this.queue();
      else this.hold();
      return;
    }
    this.queued = false;
    this.attempts++;
    this.attempt = new Attempt(
      this,
      this.ctx,
      choice.pool,
      target,
      choice.setSticky,
      this.app.stats.release(choice.pool.release),
    );
    this.attempt.send(this.req.method ?? "GET");
  }

  /** Every ready instance has its limit of requests in flight: wait for a slot, in the hold queue. */
  private queue(): void {
    if (!this.queued) {
      this.queued = true;
      this.app.stats.queued++;
    }
    this.hold();
  }

  /**
   * A request on a limited instance finished (or became a long stream): the queue's first waiter
   * takes the slot. Deferred to a microtask so it never runs inside another request's handling.
   */
  slotFreed(): void {
    const app = this.app;
    if (app.maxRequestsPerInstance > 0 && app.hold.size > 0) queueMicrotask(() => app.hold.resumeNext());
  }

  private hold(): void {
    const app = this.app;
    if (this.deadline === 0) {
      this.deadline = Date.now() + app.holdTimeoutMs;
      app.stats.held++;
    }
    if (app.holdTimeoutMs === 0 || Date.now() >= this.deadline) {
      this.expire();
      return;
    }
    if (!app.hold.add(this, this.deadline)) {
      this.answer("BATON_ROUTER_HOLD_FULL", undefined, { retryAfterS: 5 });
      return;
    }
    this.held = true;
    app.stats.heldNow++;
  }

  resume(): void {
    this.leaveHold();
    if (this.res.destroyed) {
      this.finished = true;
      return;
    }
    this.resuming = true;
    try {
      this.route();
    } finally {
      this.resuming = false;
    }
  }

  expire(): void {
    this.leaveHold();
    if (this.finished) return;
    this.app.stats.holdTimeouts++;
    if (this.queued) {
      this.answer("BATON_ROUTER_QUEUE_TIMEOUT", undefined, {
        retryAfterS: 5,
        detail: `Every instance of "${this.app.name}" was busy with its limit of ${this.app.maxRequestsPerInstance} requests for ${Math.round(this.app.holdTimeoutMs / 1000)} s.`,
      });
      return;
    }
    this.answer("BATON_ROUTER_HOLD_TIMEOUT", undefined, {
      retryAfterS: 5,
      detail: `No instance of "${this.app.name}" was ready within ${Math.round(this.app.holdTimeoutMs / 1000)} s.`,
    });
  }

  private leaveHold(): void {
    if (!this.held) return;
    this.held = false;
    this.app.stats.heldNow--;
  }

  // ---- the request towards the instance ----

  /** The Attempt's connection stands: send the head, then the body (a replay first, if any). */
  connected(attempt: Attempt): void {
    if (attempt !== this.attempt) return;
    // With a body already read (all or part of it), the head and that body leave in one write
    // (writev), not one per chunk as the client happened to send them.
    const replay = this.hasBody && this.bodyReading;
    if (replay) attempt.cork();
    attempt.write(this.head);
    if (!this.hasBody) {
      attempt.requestComplete();
      return;
    }
    if (!replay) {
      this.readBody();
      return;
    }
    for (const chunk of this.bodyChunks ?? []) this.writeBody(attempt, chunk);
    if (this.bodyEnded) this.endBody(attempt);
    attempt.uncork();
    if (!this.bodyEnded) this.req.resume();
  }

  private readBody(): void {
    this.bodyReading = true;
    // Bound here, not as class fields: most requests have no body and should not pay for them.
    this.req.on("data", (chunk: Buffer) => this.onBodyData(chunk));
    this.req.on("end", () => this.onBodyEnd());
    this.bodyTimer = setTimeout(this.onBodyTimeout, this.ctx.clientBodyTimeoutMs);
  }

  private writeBody(attempt: Attempt, chunk: Buffer): boolean {
    if (!this.chunked) return attempt.write(chunk);
    // Size line, data and CRLF in one write.
    attempt.cork();
    attempt.write(`${chunk.length.toString(16)}\r\n`);
    attempt.write(chunk);
    const flowing = attempt.write("\r\n");
    attempt.uncork();
    return flowing;
  }

  private onBodyData(chunk: Buffer): void {
    if (this.bodyChunks !== null) {
      this.bodyBytes += chunk.length;
      if (this.bodyBytes > REPLAY_LIMIT_BYTES) this.bodyChunks = null;
      else this.bodyChunks.push(chunk);
    }
    this.bodyTimer?.refresh();
    const attempt = this.attempt;
    if (attempt === undefined || !attempt.open) {
      // A body read before routing keeps coming; one meant for a connection waits for it.
      if (!this.bufferFirst) this.req.pause();
      return;
    }
    if (chunk.length > 0 && !this.writeBody(attempt, chunk)) {
      this.req.pause();
      attempt.onceDrain(() => this.req.resume());
    }
  }

  private onBodyEnd(): void {
    this.bodyEnded = true;
    this.clearBodyTimer();
    if (this.bufferFirst) this.route();
    else if (this.attempt !== undefined) this.endBody(this.attempt);
  }

  private clearBodyTimer(): void {
    if (this.bodyTimer === undefined) return;
    clearTimeout(this.bodyTimer);
    this.bodyTimer = undefined;
  }

  /**
   * The client paused its body longer than the body timeout: a 408, and the connection closed
   * (the rest of the body would be read as a next request). A body being streamed to an instance
   * is cut there too, so a slow client holds no instance connection past the timeout.
   */
  private readonly onBodyTimeout = (): void => {
    this.bodyTimer = undefined;
    if (this.finished || this.bodyEnded) return;
    if (this.req.isPaused()) {
      // The router paused it (the instance reads slowly, or a retry is being set up): not the client's doing.
      this.bodyTimer = setTimeout(this.onBodyTimeout, this.ctx.clientBodyTimeoutMs);
      return;
    }
    const attempt = this.attempt;
    this.attempt = undefined;
    if (attempt !== undefined) {
      attempt.release();
      attempt.abandon();
    }
    this.res.shouldKeepAlive = false;
    this.res.once("finish", () => this.req.socket.destroy());
    this.answer("BATON_ROUTER_CLIENT_TIMEOUT", attempt?.stats, {
      detail: `The request body stopped arriving for ${Math.round(this.ctx.clientBodyTimeoutMs / 1000)} s.`,
    });
  };

  private endBody(attempt: Attempt): void {
    if (this.chunked) attempt.write(LAST_CHUNK);
    attempt.requestComplete();
  }

  /** The attempt failed before any response byte reached the client. */
  failed(attempt: Attempt, reached: boolean, error: NodeJS.ErrnoException | undefined, timedOut: boolean): void {
    if (attempt !== this.attempt || this.finished) return;
    this.attempt = undefined;
    this.previousTarget = attempt.target;
    const stats = attempt.stats;
    if (timedOut && reached) {
      stats.timeoutErrors++;
      // No response head in time: hung, or too slow to serve anyone. Out of rotation until its
      // active check passes, so the next requests do not wait on it too.
      this.ctx.eject(attempt.target, attempt.pool, "it did not answer in time");
      // Retried only where another Target can take it: on the same one it would wait again.
      if (this.mayRetryReached() && attempt.pool.pick(attempt.target) !== undefined) {
        this.retryReached(stats);
        return;
      }
      this.answer("BATON_ROUTER_UPSTREAM_TIMEOUT", stats, {
        detail: `The instance did not start its response within ${Math.round(this.ctx.responseHeadersTimeoutMs / 1000)} s.`,
      });
      return;
    }
    if (!reached) {
      stats.connectErrors++;
      this.ctx.eject(attempt.target, attempt.pool, "it refused a connection");
      if (this.attempts < this.ctx.maxConnectAttempts) {
        stats.retries++;
        this.route();
        return;
      }
      this.answer("BATON_ROUTER_UPSTREAM_CONNECT", stats, {
        detail: `No instance accepted a connection (${error?.code ?? "timeout"}).`,
      });
      return;
    }
    stats.resetErrors++;
    if (this.mayRetryReached()) {
      this.retryReached(stats);
      return;
    }
    this.answer("BATON_ROUTER_UPSTREAM_RESET", stats, {
      detail: `The instance closed the connection before answering (${error?.code ?? "reset"}).`,
    });
  }

  /** A request that reached an instance may go to another once: idempotent, body still in hand, nothing sent yet. */
  private mayRetryReached(): boolean {
    const replayable = !this.hasBody || (this.bodyChunks !== null && this.bodyReading);
    return this.idempotent && replayable && this.reachedRetries === 0 && !this.res.headersSent;
  }

  private retryReached(stats: ReleaseStats): void {
    this.reachedRetries++;
    stats.retries++;
    if (this.hasBody) this.req.pause();
    this.route();
  }

  // ---- the response towards the client ----

  responded(attempt: Attempt, head: ResponseHead): void {
    if (attempt !== this.attempt || this.finished) {
      attempt.abandon();
      return;
    }
    const res = this.res;
    const headers = forwardResponseHeaders(head.rawHeaders, head.connection);
    if (attempt.setSticky) headers.push("Set-Cookie", stickyCookie(attempt.pool));
    // HSTS only over TLS: a browser ignores it on plain HTTP (RFC 6797 8.1).
    const hsts = this.app.hsts;
    if (hsts !== undefined && this.ctx.proto === "https") headers.push("Strict-Transport-Security", hsts);
    res.sendDate = false;
    res.writeHead(head.status, head.reason, headers);
    this.headPending = true;
    if (head.contentType?.startsWith("text/event-stream")) {
      // A stream that may never end: drain closes it at an event boundary instead of waiting.
      this.flushHead();
      this.stream = new SseStream(res, () => {
        attempt.abandon();
        this.streamClosed(attempt);
      });
      attempt.becomeStream(this.stream);
    }
  }

  body(attempt: Attempt, chunk: Buffer): void {
    if (attempt !== this.attempt || this.finished) return;
    this.headPending = false;
    if (this.stream !== undefined) {
      if (!this.stream.forward(chunk)) attempt.pauseUntilDrain(this.res);
      return;
    }
    if (!this.res.write(chunk)) attempt.pauseUntilDrain(this.res);
  }

  /**
   * One read from the instance is handled. A head that came without body bytes is sent now, as
   * nginx does: the body may be slow, long-polled or read until close, and the client should not
   * wait for it to learn the status. A head with its body (the usual case) goes out in one write.
   */
  readDone(attempt: Attempt): void {
    if (attempt === this.attempt && this.headPending && !this.finished) this.flushHead();
  }

  private flushHead(): void {
    this.headPending = false;
    this.res.flushHeaders();
  }

  complete(attempt: Attempt, status: number): void {
    if (attempt !== this.attempt || this.finished) return;
    this.finished = true;
    this.headPending = false;
    attempt.release();
    this.res.end();
    attempt.stats.recordResponse(status, performance.now() - this.started);
    this.logAccess(attempt.pool.release, attempt.target.id, status);
  }

  /** The instance failed after the response started: nothing honest to send but a cut. */
  upstreamBroke(attempt: Attempt, timedOut = false): void {
    if (attempt !== this.attempt || this.finished) return;
    this.finished = true;
    this.countBroken(attempt, timedOut);
    this.res.destroy();
  }

  /** A request cut short on its Target counts as a reset (or a timeout) and a 502 for that Release. */
  private countBroken(attempt: Attempt, timedOut = false): void {
    attempt.release();
    if (timedOut) attempt.stats.timeoutErrors++;
    else attempt.stats.resetErrors++;
    attempt.stats.recordResponse(502, performance.now() - this.started);
    this.logAccess(attempt.pool.release, attempt.target.id, 502);
  }

  /**
   * The client left the response unread for longer than the body timeout (a slow-read client):
   * cut both sides, so it holds no instance connection and no slot past the timeout. It is the
   * client's doing, not the instance's: no upstream error is counted, and the request is
   * recorded with the status that had started, as nginx logs it.
   */
  clientStalled(attempt: Attempt): void {
    if (attempt !== this.attempt || this.finished) return;
    this.finished = true;
    attempt.release();
    attempt.abandon();
    this.res.destroy();
    attempt.stats.recordResponse(this.res.statusCode, performance.now() - this.started);
    this.logAccess(attempt.pool.release, attempt.target.id, this.res.statusCode);
  }

  /** Drain ended a stream on purpose (between two events). */
  streamClosed(attempt: Attempt): void {
    this.complete(attempt, this.res.statusCode);
  }

  private readonly onClientClose = (): void => {
    this.clearBodyTimer();
    if (this.finished) return;
    // The client went away first: stop the work upstream too.
    this.finished = true;
    const attempt = this.attempt;
    if (attempt !== undefined) {
      attempt.release();
      attempt.abandon();
    }
    this.leaveHold();
  };

  /** Drain timeout reached while this request was still running on a Target being stopped. */
  abort(): void {
    if (this.finished) return;
    const attempt = this.attempt;
    this.finished = true;
    if (attempt !== undefined) {
      this.countBroken(attempt);
      attempt.abandon();
    }
    if (this.res.headersSent) this.res.destroy();
    else sendPage(this.req, this.res, "BATON_ROUTER_UPSTREAM_RESET", { requestId: this.requestId });
  }

  /** One access-log line, when access logs are on (a router without them does nothing here). */
  private logAccess(release: string | null, target: string | null, status: number): void {
    const accessLog = this.ctx.accessLog;
    if (accessLog === undefined) return;
    accessLog.record(this.req, this.requestId, this.app.name, release, target, status, this.started, this.attempts);
  }

  /** The router answers for the instance (hold timeout, 502, 504). */
  private answer(
    code: ErrorCode,
    stats: ReleaseStats | undefined,
    options: { detail?: string; retryAfterS?: number },
  ): void {
    this.finished = true;
    if (stats === undefined) this.app.stats.notRouted++;
    sendPage(this.req, this.res, code, { ...options, requestId: this.requestId });
    stats?.recordResponse(this.res.statusCode, performance.now() - this.started);
    this.logAccess(
      stats?.release ?? null,
      stats === undefined ? null : (this.previousTarget?.id ?? null),
      this.res.statusCode,
    );
    if (code === "BATON_ROUTER_CLIENT_TIMEOUT") return;
    this.clearBodyTimer();
    if (this.hasBody && !this.req.readableEnded) this.req.resume();
  }
}

/** One try of an Exchange on one Target; stale events from an abandoned try are ignored. */
class Attempt implements UpstreamHandler {
  private connection: UpstreamConnection | undefined;
  private reached = false;
  private released = false;
  private stream: SseStream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private paused = false;
  private pausedAt = 0;
  private status = 0;

  constructor(
    private readonly exchange: Exchange,
    private readonly ctx: ExchangeContext,
    readonly pool: Pool,
    readonly target: Target,
    readonly setSticky: boolean,
    readonly stats: ReleaseStats,
  ) {
    target.inFlight++;
    target.requests.add(exchange);
    stats.inFlight++;
  }

  get open(): boolean {
    return this.connection !== undefined && this.connection.state === "busy";
  }

  send(method: string): void {
    const connection = this.target.acquire();
    this.connection = connection;
    if (connection.state === "connecting") this.arm(this.ctx.connectTimeoutMs);
    connection.assign(this, method);
  }

  private arm(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(this.onTimeout, ms);
  }

  /**
   * Connect, response head, or (once the head is in) a silence between two reads of the body
   * longer than the response timeout, as nginx's proxy_read_timeout. A pause the router made
   * itself, for a slow client, is not the instance's silence.
   */
  private readonly onTimeout = (): void => {
    if (this.status !== 0 && this.paused) {
      // Paused for the client: its own timeout (the body timeout, as nginx's send_timeout) runs
      // from when it stopped reading.
      const stalledMs = performance.now() - this.pausedAt;
      if (stalledMs >= this.ctx.clientBodyTimeoutMs) this.exchange.clientStalled(this);
      else this.timer = setTimeout(this.onTimeout, this.ctx.clientBodyTimeoutMs - stalledMs);
      return;
    }
    this.timer = undefined;
    this.timedOut = true;
    const connection = this.connection;
    const reached = this.reached;
    this.connection = undefined;
    connection?.destroy();
    if (this.status !== 0) {
      this.exchange.upstreamBroke(this, true);
      return;
    }
    if (!this.released) {
      this.release();
      this.exchange.failed(this, reached, undefined, true);
    }
  };

  write(data: string | Buffer): boolean {
    return this.connection?.write(data) ?? false;
  }

  requestComplete(): void {
    this.connection?.requestComplete();
  }

  /** Hold writes until uncork(), to send them in one system call. */
  cork(): void {
    this.connection?.socket.cork();
  }

  uncork(): void {
    this.connection?.socket.uncork();
  }

  onceDrain(listener: () => void): void {
    this.connection?.socket.once("drain", listener);
  }

  /** Backpressure from the client: stop reading from the instance until the client drains. */
  pauseUntilDrain(res: OutboundResponse): void {
    const connection = this.connection;
    if (connection === undefined || this.paused) return;
    this.paused = true;
    this.pausedAt = performance.now();
    connection.pause();
    res.once("drain", () => {
      this.paused = false;
      connection.resume();
    });
  }

  onConnect(): void {
    if (this.released) return;
    this.reached = true;
    this.arm(this.ctx.responseHeadersTimeoutMs);
    this.exchange.connected(this);
  }

  onHead(head: ResponseHead): void {
    // The same timer now measures the silences between body reads.
    this.timer?.refresh();
    this.status = head.status;
    this.exchange.responded(this, head);
  }

  onData(chunk: Buffer): void {
    this.timer?.refresh();
    this.exchange.body(this, chunk);
  }

  onReadDone(): void {
    this.exchange.readDone(this);
  }

  onEnd(): void {
    this.connection = undefined;
    this.exchange.complete(this, this.status);
  }

  onError(error: NodeJS.ErrnoException, responseStarted: boolean): void {
    this.connection = undefined;
    if (responseStarted) {
      this.exchange.upstreamBroke(this);
      return;
    }
    if (this.released) return;
    const timedOut = this.timedOut;
    this.release();
    this.exchange.failed(this, this.reached, error, timedOut);
  }

  becomeStream(stream: SseStream): void {
    // Long connections leave the in-flight count so drain does not wait on them, and may be
    // quiet for as long as they like (drain closes them).
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.stream = stream;
    this.target.requestDone(this.exchange);
    this.target.addStream(stream);
    this.exchange.slotFreed();
  }

  /** Close the connection without hearing more from it (the request is settled elsewhere). */
  abandon(): void {
    this.connection?.destroy();
    this.connection = undefined;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.stats.inFlight--;
    if (this.stream !== undefined) this.target.removeStream(this.stream);
    else {
      this.target.requestDone(this.exchange);
      this.exchange.slotFreed();
    }
  }
}
