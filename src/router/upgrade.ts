import { type IncomingMessage, request } from "node:http";
import type { Duplex } from "node:stream";
import type { AppRoute } from "./app-route.js";
import type { ExchangeContext } from "./exchange.js";
import { forwardRequestHeaders } from "./headers.js";
import type { Waiter } from "./hold.js";
import { sendPageOnSocket } from "./pages.js";
import type { Pool } from "./pool.js";
import type { LongConnection, Target } from "./target.js";
import { CLOSE_GOING_AWAY, FrameCursor, serverCloseFrame } from "./ws-frames.js";

/** After our close frame, how long the client has to answer before we end the TCP connection. */
const CLOSE_HANDSHAKE_WAIT_MS = 1_000;

/**
 * An HTTP Upgrade (WebSocket) request: the handshake goes to a Target on a fresh connection, then
 * bytes flow both ways untouched. Like ordinary requests, it is held while no Target is ready and
 * retried on another Target when the first one refuses the connection.
 */
export class UpgradeExchange implements Waiter {
  private deadline = 0;
  private attempts = 0;
  private held = false;
  private done = false;

  constructor(
    private readonly ctx: ExchangeContext,
    private readonly app: AppRoute,
    private readonly req: IncomingMessage,
    private readonly client: Duplex,
    private readonly head: Buffer,
  ) {
    client.on("error", () => client.destroy());
    client.once("close", () => {
      this.done = true;
      this.leaveHold();
    });
  }

  start(): void {
    if (this.done) return;
    const choice = this.app.choose(this.req);
    const target = choice?.pool.pick();
    if (choice === null || target === undefined) {
      this.hold();
      return;
    }
    this.connect(choice.pool, target);
  }

  resume(): void {
    this.leaveHold();
    this.start();
  }

  expire(): void {
    this.leaveHold();
    if (this.done) return;
    this.done = true;
    this.app.stats.holdTimeouts++;
    sendPageOnSocket(this.client, "BATON_ROUTER_HOLD_TIMEOUT", this.req.headers.accept, { retryAfterS: 5 });
  }

  private hold(): void {
    if (this.deadline === 0) {
      this.deadline = Date.now() + this.app.holdTimeoutMs;
      this.app.stats.held++;
    }
    if (Date.now() >= this.deadline || !this.app.hold.add(this, this.deadline)) {
      this.expire();
      return;
    }
    this.held = true;
    this.app.stats.heldNow++;
  }

  private leaveHold(): void {
    if (!this.held) return;
    this.held = false;
    this.app.stats.heldNow--;
  }

  private connect(pool: Pool, target: Target): void {
    this.attempts++;
    const stats = this.app.stats.release(pool.release);
    const { headers } = forwardRequestHeaders(
      this.req,
      this.ctx.proto,
      this.ctx.localPort,
      true,
      this.ctx.trustedProxies,
    );
    const upReq = request({
      host: target.host,
      port: target.port,
      method: this.req.method,
      path: this.req.url,
      headers,
      agent: false,
      setHost: false,
    });
    let connected = false;
    const connectTimer = setTimeout(() => upReq.destroy(), this.ctx.connectTimeoutMs);
    upReq.once("socket", (socket) => {
      socket.once("connect", () => {
        connected = true;
        clearTimeout(connectTimer);
      });
    });
    upReq.once("upgrade", (upRes: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
      clearTimeout(connectTimer);
      if (this.done) {
        upSocket.destroy();
        return;
      }
      this.done = true;
      stats.recordResponse(101, 0);
      const connection = new WebSocketConnection(this.client, upSocket, target);
      target.addStream(connection);
      connection.start(statusHead(upRes), upHead, this.head);
    });
    upReq.once("response", (upRes: IncomingMessage) => {
      // The instance declined the upgrade: relay its answer as a plain HTTP response.
      clearTimeout(connectTimer);
      this.done = true;
      stats.recordResponse(upRes.statusCode ?? 502, 0);
      this.client.write(statusHead(upRes));
      upRes.pipe(this.client);
    });
    upReq.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      if (this.done) return;
      if (!connected) {
        stats.connectErrors++;
        this.ctx.eject(target, pool, "it refused a connection");
        if (this.attempts < this.ctx.maxConnectAttempts) {
          stats.retries++;
          this.start();
          return;
        }
      } else {
        stats.resetErrors++;
      }
      this.done = true;
      stats.recordResponse(502, 0);
      sendPageOnSocket(
        this.client,
        connected ? "BATON_ROUTER_UPSTREAM_RESET" : "BATON_ROUTER_UPSTREAM_CONNECT",
        this.req.headers.accept,
        {
          detail: `The instance did not complete the upgrade (${error.code ?? "error"}).`,
        },
      );
    });
    upReq.end();
  }
}

function statusHead(upRes: IncomingMessage): string {
  let head = `HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage}\r\n`;
  const raw = upRes.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${head}\r\n`;
}

/**
 * A proxied WebSocket. Bytes from the instance are followed frame by frame so that, when its
 * Target drains, the router can send the client a close frame (1001 going away) between two
 * frames and then end both TCP connections with a FIN, never a reset.
 */
class WebSocketConnection implements LongConnection {
  private readonly cursor = new FrameCursor();
  private closing = false;
  private closed = false;
  private endTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Duplex,
    private readonly upstream: Duplex,
    private readonly target: Target,
  ) {}

  start(responseHead: string, upHead: Buffer, clientHead: Buffer): void {
    const { client, upstream } = this;
    upstream.on("error", () => this.destroy());
    client.write(responseHead);
    if (upHead.length > 0) this.fromUpstream(upHead);
    if (clientHead.length > 0) upstream.write(clientHead);
    upstream.on("data", (chunk: Buffer) => this.fromUpstream(chunk));
    client.on("data", (chunk: Buffer) => {
      if (!upstream.write(chunk)) client.pause();
      if (this.closing) this.finishSoon(50);
    });
    upstream.on("drain", () => client.resume());
    client.on("drain", () => upstream.resume());
    client.once("end", () => upstream.end());
    upstream.once("end", () => client.end());
    client.once("close", () => this.cleanup());
    upstream.once("close", () => this.cleanup());
  }

  private fromUpstream(chunk: Buffer): void {
    if (this.closed) return;
    if (!this.closing) {
      this.cursor.advance(chunk, false);
      if (!this.client.write(chunk)) this.upstream.pause();
      return;
    }
    // Closing: forward up to the end of the frame in progress, then say goodbye.
    const end = this.cursor.advance(chunk, true);
    if (end < 0) {
      this.client.write(chunk);
      return;
    }
    this.client.write(chunk.subarray(0, end));
    this.sendClose();
  }

  closeGracefully(): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    if (this.cursor.atBoundary) this.sendClose();
    // A frame that never completes must not hold the drain forever.
    else this.endTimer = setTimeout(() => this.sendClose(), CLOSE_HANDSHAKE_WAIT_MS);
  }

  private sendClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.endTimer !== undefined) clearTimeout(this.endTimer);
    this.client.write(serverCloseFrame(CLOSE_GOING_AWAY, "instance draining"));
    this.finishSoon(CLOSE_HANDSHAKE_WAIT_MS);
  }

  /** End both TCP connections with a FIN once the client answered (or did not, in time). */
  private finishSoon(ms: number): void {
    if (!this.closed) return;
    if (this.endTimer !== undefined) clearTimeout(this.endTimer);
    this.endTimer = setTimeout(() => {
      this.client.end();
      this.upstream.end();
    }, ms);
  }

  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
    this.cleanup();
  }

  private cleanup(): void {
    if (this.endTimer !== undefined) clearTimeout(this.endTimer);
    this.target.removeStream(this);
    // One side is gone: let the other finish with a FIN (a no-op when it is already closed).
    if (!this.client.destroyed) this.client.end();
    if (!this.upstream.destroyed) this.upstream.end();
  }
}
