import type { HealthCheck } from "./health-check.js";
import type { TargetDescription } from "./ops.js";
import { type ConnectionOwner, UpstreamConnection } from "./upstream/connection.js";

/** A long-lived connection (WebSocket or server-sent events) that drain must close politely. */
export interface LongConnection {
  /** Finish at a message boundary with a proper goodbye (close frame 1001, end of stream). */
  closeGracefully(): void;
  /** Cut it now (used only when the graceful close did not finish in time). */
  destroy(): void;
}

/** Something in flight on a Target that drain may have to cut after its timeout. */
export interface InFlight {
  abort(): void;
}

export type TargetState = "ready" | "ejected" | "closed";

export interface TargetSpec {
  host: string;
  port: number;
}

/**
 * The router's view of one web Instance. It owns its pool of keep-alive connections (so closing a
 * Target closes exactly its connections), counts what is in flight for least-outstanding
 * balancing and for drain, and takes itself out of rotation when it refuses connections until an
 * active check passes.
 */
export class Target implements ConnectionOwner {
  readonly id: string;
  state: TargetState = "ready";
  /** Ordinary requests in flight (long connections are counted in `streams` instead). */
  inFlight = 0;
  readonly requests = new Set<InFlight>();
  private readonly streams = new Set<LongConnection>();
  private healthCheck: HealthCheck | undefined;
  private readonly onReadyListeners: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private streamWaiters: Array<() => void> = [];
  /** Idle keep-alive connections, most recently used last (reused first: LIFO). */
  private readonly idle: UpstreamConnection[] = [];
  private readonly connections = new Set<UpstreamConnection>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly poolOptions: { maxFreeSockets: number; freeSocketTimeoutMs: number },
  ) {
    this.id = `${host}:${port}`;
  }

  /** A connection for one request: the most recently used idle one, else a new one. */
  acquire(): UpstreamConnection {
    for (;;) {
      const connection = this.idle.pop();
      if (connection === undefined) break;
      // An instance may have closed it a moment ago; the socket tells before we write.
      if (connection.state === "idle" && !connection.socket.readableEnded && !connection.socket.destroyed) {
        return connection;
      }
      connection.destroy();
    }
    const connection = new UpstreamConnection(this.host, this.port, this);
    this.connections.add(connection);
    return connection;
  }

  /**
   * Open connections before any request needs them, up to `count` idle or connecting ones, so the
   * first requests after a switch find them ready instead of each paying a connect (and the
   * instance its accept) while the old Pool's load arrives at once.
   */
  preconnect(count: number): number {
    if (this.state !== "ready") return 0;
    let connecting = 0;
    for (const c of this.connections) if (c.state === "connecting") connecting++;
    const wanted = Math.min(count, this.poolOptions.maxFreeSockets) - this.idle.length - connecting;
    for (let i = 0; i < wanted; i++) this.connections.add(new UpstreamConnection(this.host, this.port, this));
    return Math.max(0, wanted);
  }

  release(connection: UpstreamConnection): void {
    if (this.state === "closed" || this.idle.length >= this.poolOptions.maxFreeSockets) {
      connection.destroy();
      return;
    }
    this.idle.push(connection);
    // Close connections idle longer than the free-socket timeout, below Node's default server
    // keep-alive (5 s), so we drop them before the instance does: that removes most of the
    // "reused connection closed under us" race at its source. One sweep per Target, not a timer
    // per connection.
    if (this.sweeper === undefined) {
      this.sweeper = setInterval(() => this.sweepIdle(), Math.max(250, this.poolOptions.freeSocketTimeoutMs / 4));
      this.sweeper.unref();
    }
  }

  forget(connection: UpstreamConnection): void {
    this.connections.delete(connection);
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
  }

  private sweepIdle(): void {
    const oldest = Date.now() - this.poolOptions.freeSocketTimeoutMs;
    // Idle connections are ordered by the time they were released: the stale ones come first.
    while (this.idle.length > 0 && (this.idle[0]?.idleSince ?? 0) < oldest) this.idle[0]?.destroy();
    if (this.idle.length === 0 && this.sweeper !== undefined) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  get available(): boolean {
    return this.state === "ready";
  }

  /** An ordinary request on this Target finished (drain waits for the count to reach zero). */
  requestDone(request: InFlight): void {
    this.inFlight--;
    this.requests.delete(request);
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves when no ordinary request is in flight (long connections do not count). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get streamCount(): number {
    return this.streams.size;
  }

  openStreams(): LongConnection[] {
    return [...this.streams];
  }

  addStream(stream: LongConnection): void {
    this.streams.add(stream);
  }

  removeStream(stream: LongConnection): void {
    if (!this.streams.delete(stream) || this.streams.size > 0 || this.streamWaiters.length === 0) return;
    const waiters = this.streamWaiters;
    this.streamWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves when no WebSocket or event stream is open on this Target. */
  whenNoStreams(): Promise<void> {
    if (this.streams.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.streamWaiters.push(resolve));
  }

  onReady(listener: () => void): void {
    this.onReadyListeners.push(listener);
  }

  /** Out of rotation until `check` passes; idempotent while a check is already running. */
  eject(check: HealthCheck): void {
    if (this.state !== "ready") return;
    this.state = "ejected";
    this.healthCheck = check;
    check.start(() => {
      if (this.state !== "ejected") return;
      this.state = "ready";
      this.healthCheck = undefined;
      for (const listener of this.onReadyListeners) listener();
    });
  }

  /** Cut everything still open on this Target (after drain or when removed). */
  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.healthCheck?.stop();
    this.healthCheck = undefined;
    for (const request of this.requests) request.abort();
    for (const stream of this.streams) stream.destroy();
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    for (const connection of [...this.connections]) connection.destroy();
  }

  describe(): TargetDescription {
    return { host: this.host, port: this.port, state: this.state, inFlight: this.inFlight, streams: this.streams.size };
  }
}
