// Client side of the capacity checks (test/router-capacity.test.ts and bench/capacity): many
// keep-alive connections held open at once, each used in turn, and many WebSockets exchanging
// messages. Bounded in count and time; loopback only.
import { Agent, request } from "node:http";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";

export interface HeldTarget {
  port: number;
  /** Host header (selects the app in the router). */
  hostHeader?: string;
  /**
   * Local addresses the client sockets are spread over (127.0.0.X). Loopback has about 28k
   * ephemeral ports per source address, so past that many sockets a second address is needed.
   */
  sourceAddresses?: string[];
}

/** What one round over every connection, or one WebSocket exchange, came to. */
export interface RoundResult {
  requests: number;
  ok: number;
  failed: number;
  failures: Record<string, number>;
  latenciesMs: number[];
}

const sourceOf = (target: HeldTarget, i: number): string => {
  const list = target.sourceAddresses ?? ["127.0.0.1"];
  return list[i % list.length] ?? "127.0.0.1";
};

function count(into: Record<string, number>, reason: string): void {
  into[reason] = (into[reason] ?? 0) + 1;
}

/**
 * `connections` keep-alive HTTP connections, one Agent with one socket each, so every connection
 * stays its own socket (a shared Agent would reuse its most recent free sockets and let the rest
 * go idle). A request on a connection whose socket closed opens a new one: `reconnects` counts
 * those, so "all held" means sockets opened === connections.
 */
export class HeldConnections {
  private readonly agents: Agent[];
  private readonly sockets = new Set<Socket>();
  /** Sockets opened in all (the first per connection, then one per reconnect). */
  opened = 0;
  /** Sockets that closed while we held them (by the server or an error). */
  closedUnderUs = 0;
  private closing = false;

  constructor(
    private readonly target: HeldTarget,
    readonly connections: number,
    private readonly requestTimeoutMs = 30_000,
  ) {
    this.agents = Array.from({ length: connections }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  }

  /** Sockets open right now. */
  get open(): number {
    return this.sockets.size;
  }

  get reconnects(): number {
    return Math.max(0, this.opened - this.connections);
  }

  /**
   * Every connection sends one GET `path`, at most `concurrency` in flight at once; the first round
   * opens the connections. Stops starting requests at `deadlineMs` (performance.now() clock); the
   * ones not started count as failed ("not sent: deadline"). `limit` uses only the first so many
   * connections.
   */
  async round(path: string, concurrency: number, deadlineMs: number, limit = this.connections): Promise<RoundResult> {
    const used = Math.min(limit, this.connections);
    const result: RoundResult = { requests: 0, ok: 0, failed: 0, failures: {}, latenciesMs: [] };
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= used) return;
        result.requests++;
        if (performance.now() > deadlineMs) {
          result.failed++;
          count(result.failures, "not sent: deadline");
          continue;
        }
        const started = performance.now();
        const outcome = await this.one(i, path);
        if (outcome === "ok") {
          result.ok++;
          result.latenciesMs.push(performance.now() - started);
        } else {
          result.failed++;
          count(result.failures, outcome);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, used)) }, worker));
    return result;
  }

  private one(i: number, path: string): Promise<string> {
    return new Promise((resolve) => {
      const headers: Record<string, string> = {};
      if (this.target.hostHeader !== undefined) headers.host = this.target.hostHeader;
      const req = request(
        {
          host: "127.0.0.1",
          port: this.target.port,
          path,
          headers,
          agent: this.agents[i],
          localAddress: sourceOf(this.target, i),
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode === 200 ? "ok" : `HTTP ${res.statusCode}`));
          res.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        },
      );
      req.on("socket", (socket: Socket) => {
        if (this.sockets.has(socket)) return;
        this.sockets.add(socket);
        this.opened++;
        socket.once("close", () => {
          this.sockets.delete(socket);
          if (!this.closing) this.closedUnderUs++;
        });
      });
      req.setTimeout(this.requestTimeoutMs, () => req.destroy(new Error("client timeout")));
      req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      req.end();
    });
  }

  close(): void {
    this.closing = true;
    for (const agent of this.agents) agent.destroy();
  }
}

/** `count` WebSockets, each sending a message every `intervalMs` and expecting its echo. */
export class HeldWebSockets {
  private readonly sockets: WebSocket[] = [];
  opened = 0;
  failedToOpen = 0;
  /** Closed while we held them (not by close()). */
  closedUnderUs = 0;
  readonly openFailures: Record<string, number> = {};
  private closing = false;

  constructor(
    private readonly target: HeldTarget,
    private readonly path = "/ws",
  ) {}

  get open(): number {
    return this.sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
  }

  /** Open `count` WebSockets, `concurrency` handshakes at a time, each bounded by `timeoutMs`. */
  async openAll(count: number, concurrency: number, timeoutMs = 15_000): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        await this.openOne(i, timeoutMs);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  }

  private openOne(i: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const headers: Record<string, string> = {};
      if (this.target.hostHeader !== undefined) headers.host = this.target.hostHeader;
      const ws = new WebSocket(`ws://127.0.0.1:${this.target.port}${this.path}`, {
        headers,
        localAddress: sourceOf(this.target, i),
        handshakeTimeout: timeoutMs,
      });
      let settled = false;
      const settle = (reason?: string): void => {
        if (settled) return;
        settled = true;
        if (reason === undefined) {
          this.opened++;
          this.sockets.push(ws);
          ws.once("close", () => {
            if (!this.closing) this.closedUnderUs++;
          });
        } else {
          this.failedToOpen++;
          count(this.openFailures, reason);
          ws.terminate();
        }
        resolve();
      };
      ws.once("open", () => settle());
      ws.once("error", (e: NodeJS.ErrnoException) => settle(e.code ?? e.message));
      ws.once("close", () => settle("closed before open"));
    });
  }

  /**
   * For `durationMs`, every open WebSocket sends a numbered message every `intervalMs` (starts
   * spread over the first interval) and waits for the echo that carries its text; an echo not
   * back within `echoTimeoutMs` (or a socket that closed) counts as failed.
   */
  async exchange(durationMs: number, intervalMs: number, echoTimeoutMs = 10_000): Promise<RoundResult> {
    const result: RoundResult = { requests: 0, ok: 0, failed: 0, failures: {}, latenciesMs: [] };
    const endAt = performance.now() + durationMs;
    const one = (ws: WebSocket, n: number): Promise<void> =>
      new Promise((resolve) => {
        const text = `ping ${n}`;
        const started = performance.now();
        result.requests++;
        const done = (reason?: string): void => {
          clearTimeout(timer);
          ws.off("message", onMessage);
          ws.off("close", onClose);
          if (reason === undefined) {
            result.ok++;
            result.latenciesMs.push(performance.now() - started);
          } else {
            result.failed++;
            count(result.failures, reason);
          }
          resolve();
        };
        const onMessage = (data: WebSocket.RawData): void => {
          if (String(data).endsWith(`: ${text}`)) done();
        };
        const onClose = (): void => done("closed");
        const timer = setTimeout(() => done("no echo in time"), echoTimeoutMs);
        ws.on("message", onMessage);
        ws.once("close", onClose);
        ws.send(text);
      });
    const loop = async (ws: WebSocket, index: number): Promise<void> => {
      await sleep((index * intervalMs) / Math.max(1, this.sockets.length));
      let n = 0;
      while (performance.now() < endAt) {
        if (ws.readyState !== WebSocket.OPEN) {
          result.requests++;
          result.failed++;
          count(result.failures, "not open");
          return;
        }
        const started = performance.now();
        await one(ws, n++);
        await sleep(Math.max(0, intervalMs - (performance.now() - started)));
      }
    };
    await Promise.all(this.sockets.map(loop));
    return result;
  }

  /** Close every WebSocket with 1000 and wait (bounded) for the closes. */
  async close(timeoutMs = 10_000): Promise<void> {
    this.closing = true;
    const closed = this.sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once("close", () => resolve());
          ws.close(1000);
        }),
    );
    await Promise.race([Promise.all(closed), sleep(timeoutMs)]);
    for (const ws of this.sockets) ws.terminate();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The q-quantile of `values` (nearest rank), or null when there are none. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? null;
}
