import { connect, type Socket } from "node:net";
import { ProtocolError, type ResponseHead, ResponseParser } from "./response-parser.js";

/** What a request in progress hears from its upstream connection. */
export interface UpstreamHandler {
  /** The connection stands (new, or reused from the pool): write the request now. */
  onConnect(): void;
  onHead(head: ResponseHead): void;
  onData(chunk: Buffer): void;
  /** Everything in one read from the instance has been handed on (onHead/onData/onEnd). */
  onReadDone(): void;
  onEnd(): void;
  /**
   * The connection failed. Whether the request went out is known to the handler (onConnect was
   * called or not); `responseStarted` is true once a response head arrived.
   */
  onError(error: NodeJS.ErrnoException, responseStarted: boolean): void;
}

export interface ConnectionOwner {
  /** The response finished and the connection may carry another request. */
  release(connection: UpstreamConnection): void;
  /** The connection is gone (closed by either side); forget it. */
  forget(connection: UpstreamConnection): void;
}

/** Where upstream reads land (see the constructor); big enough for a socket's whole receive queue. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export type ConnectionState = "connecting" | "idle" | "busy" | "closed";

/**
 * One keep-alive TCP connection from the router to a Target, carrying one request at a time.
 * Lifecycle: connecting → busy ⇄ idle → closed. destroy() is immediate and silent: the handler
 * hears nothing more, because whoever destroys has already settled the request.
 */
export class UpstreamConnection {
  readonly socket: Socket;
  state: ConnectionState = "connecting";
  /** When it last became idle (the pool closes connections idle for too long). */
  idleSince = 0;
  /** Set once a request has been carried: a reused connection may have been closed under us. */
  reused = false;
  private handler: UpstreamHandler | undefined;
  private readonly parser: ResponseParser;
  /** The whole request (head and body) has been written. */
  private requestSent = false;

  constructor(
    host: string,
    port: number,
    private readonly owner: ConnectionOwner,
  ) {
    this.parser = new ResponseParser({
      onHead: (head) => this.handler?.onHead(head),
      // The read buffer is reused by the next read: a body chunk leaves as a copy of its own
      // (the client's socket may keep it queued).
      onBody: (chunk) => this.handler?.onData(Buffer.from(chunk)),
      onComplete: (keepAlive) => this.complete(keepAlive),
    });
    // Reads land in one buffer shared by every upstream connection (each read is handled to the
    // end before the next), instead of node's new buffer and readable-stream bookkeeping per read.
    this.socket = connect({ host, port, noDelay: true, onread: { buffer: READ_BUFFER, callback: this.onRead } });
    this.socket.on("connect", this.onSocketConnect);
    this.socket.on("end", this.onSocketEnd);
    this.socket.on("error", this.onSocketError);
    this.socket.on("close", this.onSocketClose);
  }

  /** Carry one request. The handler's onConnect says when to write it. */
  assign(handler: UpstreamHandler, method: string): void {
    this.handler = handler;
    this.requestSent = false;
    this.parser.expect(method);
    if (this.state === "idle") {
      this.state = "busy";
      this.reused = true;
      handler.onConnect();
    }
    // Still connecting: onSocketConnect calls onConnect.
  }

  write(data: string | Buffer): boolean {
    return this.socket.write(data);
  }

  /** The request is fully written; only then may the connection carry another one. */
  requestComplete(): void {
    this.requestSent = true;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Close now, silently; idempotent. */
  destroy(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.handler = undefined;
    this.socket.destroy();
    this.owner.forget(this);
  }

  private complete(keepAlive: boolean): void {
    const handler = this.handler;
    this.handler = undefined;
    // An instance may answer before it read the whole request (an early 413, say): the rest of
    // that body would be taken for the next request, so such a connection is never reused.
    if (keepAlive && this.requestSent && this.state === "busy") {
      this.state = "idle";
      // The last body chunk may have paused us for a slow client; an idle connection must keep
      // reading, or it would miss the instance closing it and hang the next request.
      this.socket.resume();
      this.idleSince = Date.now();
      // Hand the connection back before telling the request, so a request that the handler
      // starts next can already reuse it.
      this.owner.release(this);
    } else {
      this.destroy();
    }
    handler?.onEnd();
  }

  private readonly onSocketConnect = (): void => {
    if (this.state !== "connecting") return;
    if (this.handler === undefined) {
      // Opened ahead of traffic (Target.preconnect): ready and waiting in the pool.
      this.state = "idle";
      this.idleSince = Date.now();
      this.owner.release(this);
      return;
    }
    this.state = "busy";
    this.handler.onConnect();
  };

  /** Always true: reading stops only by pause() (a slow client), never from here. */
  private readonly onRead = (bytes: number, buffer: Uint8Array): boolean => {
    const chunk = Buffer.from(buffer.buffer, buffer.byteOffset, bytes);
    try {
      this.parser.execute(chunk);
    } catch (error) {
      this.fail(error as NodeJS.ErrnoException);
      return true;
    }
    this.handler?.onReadDone();
    return true;
  };

  private readonly onSocketEnd = (): void => {
    // The instance closed its side. A response read until close ends here; anything else in
    // progress is cut short; an idle connection is simply gone.
    if (this.state === "busy" && this.parser.finish()) return;
    if (this.state === "busy") {
      const error = new Error("the instance closed the connection before the response was complete");
      (error as NodeJS.ErrnoException).code = "ECONNRESET";
      this.fail(error);
      return;
    }
    this.destroy();
  };

  private readonly onSocketError = (error: NodeJS.ErrnoException): void => {
    this.fail(error);
  };

  private readonly onSocketClose = (): void => {
    if (this.state === "closed") return;
    const error = new Error("connection closed");
    (error as NodeJS.ErrnoException).code = "ECONNRESET";
    this.fail(error);
  };

  private fail(error: NodeJS.ErrnoException): void {
    const handler = this.handler;
    const responseStarted = this.parser.headSeen && !this.parser.idle;
    this.destroy();
    if (error instanceof ProtocolError) (error as NodeJS.ErrnoException).code = error.code;
    handler?.onError(error, responseStarted);
  }
}
