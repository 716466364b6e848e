import { Agent } from "node:http";
import type { HealthCheck } from "./health-check.js";
import type { TargetDescription } from "./ops.js";

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
 * The router's view of one web Instance. It owns its keep-alive sockets (one Agent per Target, so
 * closing a Target closes exactly its sockets), counts what is in flight for least-outstanding
 * balancing and for drain, and takes itself out of rotation when it refuses connections until an
 * active check passes.
 */
export class Target {
  readonly id: string;
  readonly agent: Agent;
  state: TargetState = "ready";
  /** Ordinary requests in flight (long connections are counted in `streams` instead). */
  inFlight = 0;
  readonly requests = new Set<InFlight>();
  readonly streams = new Set<LongConnection>();
  private healthCheck: HealthCheck | undefined;
  private readonly onReadyListeners: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly host: string,
    readonly port: number,
    agentOptions: { maxFreeSockets: number; freeSocketTimeoutMs: number },
  ) {
    this.id = `${host}:${port}`;
    this.agent = new Agent({
      keepAlive: true,
      // LIFO reuse keeps a small set of warm sockets busy and lets the rest time out.
      scheduling: "lifo",
      maxFreeSockets: agentOptions.maxFreeSockets,
      // Below Node's default server keep-alive (5 s) so we drop idle sockets before the instance
      // does: that closes most of the "reused socket closed under us" race at its source.
      timeout: agentOptions.freeSocketTimeoutMs,
    });
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
    this.agent.destroy();
  }

  describe(): TargetDescription {
    return { host: this.host, port: this.port, state: this.state, inFlight: this.inFlight, streams: this.streams.size };
  }
}
