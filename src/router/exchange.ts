import { type ClientRequest, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { ErrorCode } from "../core/errors.js";
import { type AppRoute, stickyCookie } from "./app-route.js";
import { forwardRequestHeaders, forwardResponseHeaders } from "./headers.js";
import type { Waiter } from "./hold.js";
import { sendPage } from "./pages.js";
import type { Pool } from "./pool.js";
import { SseStream } from "./sse-stream.js";
import type { ReleaseStats } from "./stats.js";
import type { InFlight, Target } from "./target.js";

/** What an Exchange needs from the router, fixed for the router's lifetime. */
export interface ExchangeContext {
  readonly proto: "http" | "https";
  readonly localPort: number;
  readonly connectTimeoutMs: number;
  readonly responseHeadersTimeoutMs: number;
  readonly maxConnectAttempts: number;
  /** Take a Target that refused a connection out of rotation until its active check passes. */
  eject(target: Target, pool: Pool): void;
}

/** Methods that may be sent twice without changing the outcome (RFC 9110 9.2.2). */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);
/** A body up to this size is kept so an idempotent request can be replayed on another Target. */
const REPLAY_LIMIT_BYTES = 64 * 1024;

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
  private readonly headers: string[];
  private readonly requestId: string;
  private readonly hasBody: boolean;
  private readonly idempotent: boolean;
  private attempt: Attempt | undefined;
  private attempts = 0;
  private reachedRetries = 0;
  private previousTarget: Target | undefined;
  private deadline = 0;
  private held = false;
  private finished = false;
  private bodyReading = false;
  private bodyEnded = false;
  /** Body chunks seen so far, for a replay; null once the body outgrew the replay limit. */
  private bodyChunks: Buffer[] | null = [];
  private bodyBytes = 0;

  constructor(
    private readonly ctx: ExchangeContext,
    private readonly app: AppRoute,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    const forwarded = forwardRequestHeaders(req, ctx.proto, ctx.localPort, false);
    this.headers = forwarded.headers;
    this.requestId = forwarded.requestId;
    const te = req.headers["transfer-encoding"];
    const cl = req.headers["content-length"];
    this.hasBody = te !== undefined || (cl !== undefined && cl !== "0");
    this.idempotent = IDEMPOTENT.has(req.method ?? "GET");
    res.on("close", this.onClientClose);
  }

  start(): void {
    this.route();
  }

  // ---- choosing a Target, holding ----

  private route(): void {
    if (this.finished) return;
    const choice = this.app.choose(this.req);
    if (choice === null) {
      this.hold();
      return;
    }
    const target = choice.pool.pick(this.previousTarget) ?? choice.pool.pick();
    if (target === undefined) {
      this.hold();
      return;
    }
    this.dispatch(choice.pool, target, choice.setSticky);
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
    this.route();
  }

  expire(): void {
    this.leaveHold();
    if (this.finished) return;
    this.app.stats.holdTimeouts++;
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

  // ---- one attempt on one Target ----

  private dispatch(pool: Pool, target: Target, setSticky: boolean): void {
    this.attempts++;
    this.attempt = new Attempt(this, pool, target, setSticky, this.app.stats.release(pool.release));
    this.attempt.send(this.req, this.headers, this.ctx);
  }

  /** Called by the Attempt once a connection to the instance stands. */
  connected(attempt: Attempt): void {
    if (attempt !== this.attempt || !this.hasBody) return;
    if (!this.bodyReading) {
      this.bodyReading = true;
      this.req.on("data", this.onBodyData);
      this.req.on("end", this.onBodyEnd);
      return;
    }
    // A replay: the chunks read so far, then the rest as it arrives.
    for (const chunk of this.bodyChunks ?? []) attempt.upReq.write(chunk);
    if (this.bodyEnded) attempt.upReq.end();
    else this.req.resume();
  }

  private readonly onBodyData = (chunk: Buffer): void => {
    if (this.bodyChunks !== null) {
      this.bodyBytes += chunk.length;
      if (this.bodyBytes > REPLAY_LIMIT_BYTES) this.bodyChunks = null;
      else this.bodyChunks.push(chunk);
    }
    const upReq = this.attempt?.upReq;
    if (upReq === undefined || upReq.destroyed) {
      this.req.pause();
      return;
    }
    if (!upReq.write(chunk)) {
      this.req.pause();
      upReq.once("drain", () => this.req.resume());
    }
  };

  private readonly onBodyEnd = (): void => {
    this.bodyEnded = true;
    this.attempt?.upReq.end();
  };

  /** The attempt failed before any response byte reached the client. */
  failed(attempt: Attempt, reached: boolean, error: NodeJS.ErrnoException | undefined, timedOut: boolean): void {
    if (attempt !== this.attempt || this.finished) return;
    this.attempt = undefined;
    this.previousTarget = attempt.target;
    const stats = attempt.stats;
    if (timedOut && reached) {
      stats.timeoutErrors++;
      this.answer("BATON_ROUTER_UPSTREAM_TIMEOUT", stats, {
        detail: `The instance did not start its response within ${Math.round(this.ctx.responseHeadersTimeoutMs / 1000)} s.`,
      });
      return;
    }
    if (!reached) {
      stats.connectErrors++;
      this.ctx.eject(attempt.target, attempt.pool);
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
    const replayable = !this.hasBody || (this.bodyChunks !== null && this.bodyReading);
    if (this.idempotent && replayable && this.reachedRetries === 0 && !this.res.headersSent) {
      this.reachedRetries++;
      stats.retries++;
      if (this.hasBody) this.req.pause();
      this.route();
      return;
    }
    this.answer("BATON_ROUTER_UPSTREAM_RESET", stats, {
      detail: `The instance closed the connection before answering (${error?.code ?? "reset"}).`,
    });
  }

  /** Response headers arrived: stream them and the body to the client. */
  responded(attempt: Attempt, upRes: IncomingMessage): void {
    if (attempt !== this.attempt || this.finished) {
      upRes.resume();
      return;
    }
    const res = this.res;
    const headers = forwardResponseHeaders(upRes.rawHeaders, upRes.headers.connection);
    if (attempt.setSticky) headers.push("Set-Cookie", stickyCookie(attempt.pool));
    res.sendDate = false;
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, headers);
    const contentType = upRes.headers["content-type"];
    if (contentType?.startsWith("text/event-stream")) {
      // A stream that may never end: drain closes it at an event boundary instead of waiting.
      res.flushHeaders();
      attempt.becomeStream(new SseStream(upRes, res, attempt.upReq));
    } else {
      upRes.pipe(res);
    }
    upRes.once("end", () => this.complete(attempt, upRes.statusCode ?? 502));
    upRes.once("aborted", () => this.upstreamBroke(attempt));
    upRes.once("error", () => this.upstreamBroke(attempt));
  }

  private complete(attempt: Attempt, status: number): void {
    if (this.finished) return;
    this.finished = true;
    attempt.release();
    attempt.stats.recordResponse(status, performance.now() - this.started);
  }

  /** The instance died after the response started: nothing honest to send but a cut. */
  private upstreamBroke(attempt: Attempt): void {
    if (this.finished) return;
    if (this.res.writableEnded) {
      // Drain ended a stream on purpose and then let go of the instance's side.
      this.complete(attempt, this.res.statusCode);
      return;
    }
    this.finished = true;
    attempt.release();
    attempt.stats.resetErrors++;
    attempt.stats.recordResponse(502, performance.now() - this.started);
    this.res.destroy();
  }

  private readonly onClientClose = (): void => {
    if (this.finished) return;
    // The client went away first: stop the work upstream too.
    this.finished = true;
    const attempt = this.attempt;
    if (attempt !== undefined) {
      attempt.release();
      attempt.upReq.destroy();
    }
    this.leaveHold();
  };

  /** Drain timeout reached while this request was still running on a Target being stopped. */
  abort(): void {
    if (this.finished) return;
    const attempt = this.attempt;
    this.finished = true;
    if (attempt !== undefined) {
      attempt.release();
      attempt.upReq.destroy();
      attempt.stats.resetErrors++;
      attempt.stats.recordResponse(502, performance.now() - this.started);
    }
    if (this.res.headersSent) this.res.destroy();
    else sendPage(this.req, this.res, "BATON_ROUTER_UPSTREAM_RESET", { requestId: this.requestId });
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
    if (this.hasBody && !this.req.readableEnded) this.req.resume();
  }
}

/** One try of an Exchange on one Target; stale events from an abandoned try are ignored. */
class Attempt {
  upReq!: ClientRequest;
  private stream: SseStream | undefined;
  private reached = false;
  private released = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private headersTimer: NodeJS.Timeout | undefined;
  private timedOut = false;

  constructor(
    private readonly exchange: Exchange,
    readonly pool: Pool,
    readonly target: Target,
    readonly setSticky: boolean,
    readonly stats: ReleaseStats,
  ) {
    target.inFlight++;
    target.requests.add(exchange);
    this.stats.inFlight++;
  }

  send(req: IncomingMessage, headers: string[], ctx: ExchangeContext): void {
    const upReq = request({
      host: this.target.host,
      port: this.target.port,
      method: req.method,
      path: req.url,
      headers,
      agent: this.target.agent,
      setHost: false,
    });
    this.upReq = upReq;
    this.connectTimer = setTimeout(() => {
      this.timedOut = true;
      upReq.destroy();
    }, ctx.connectTimeoutMs);
    upReq.once("socket", (socket: Socket) => {
      if (socket.connecting) socket.once("connect", () => this.onConnected(ctx));
      else this.onConnected(ctx);
    });
    upReq.once("response", (upRes: IncomingMessage) => {
      this.clearTimers();
      this.exchange.responded(this, upRes);
    });
    upReq.on("error", (error: NodeJS.ErrnoException) => this.onError(error));
    const te = req.headers["transfer-encoding"];
    const cl = req.headers["content-length"];
    if (te === undefined && (cl === undefined || cl === "0")) upReq.end();
  }

  private onConnected(ctx: ExchangeContext): void {
    if (this.released) return;
    this.reached = true;
    this.clearTimers();
    this.headersTimer = setTimeout(() => {
      this.timedOut = true;
      this.upReq.destroy();
    }, ctx.responseHeadersTimeoutMs);
    this.exchange.connected(this);
  }

  private onError(error: NodeJS.ErrnoException): void {
    this.clearTimers();
    if (this.released) return;
    const reached = this.reached;
    const timedOut = this.timedOut;
    this.release();
    this.exchange.failed(this, reached, error, timedOut);
  }

  becomeStream(stream: SseStream): void {
    // Long connections leave the in-flight count so drain does not wait on them.
    this.stream = stream;
    this.target.requestDone(this.exchange);
    this.target.streams.add(stream);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.clearTimers();
    this.stats.inFlight--;
    if (this.stream !== undefined) {
      this.target.streams.delete(this.stream);
    } else {
      this.target.requestDone(this.exchange);
    }
  }

  private clearTimers(): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    if (this.headersTimer !== undefined) clearTimeout(this.headersTimer);
    this.connectTimer = undefined;
    this.headersTimer = undefined;
  }
}
