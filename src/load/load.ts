import { Agent, request } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { performance } from "node:perf_hooks";

/** One kind of request the load sends; picked in turn by each connection. */
export interface LoadRequest {
  method?: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

export interface LoadOptions {
  port: number;
  host?: string;
  /** Host header (selects the app in the router). */
  hostHeader?: string;
  connections: number;
  /** Hard bounds: the run stops at whichever comes first, or at stop(). */
  maxDurationMs: number;
  maxRequests: number;
  requests: LoadRequest[];
  requestTimeoutMs?: number;
  /** Keep this response header's value on each Sample (e.g. which release answered). */
  tagHeader?: string;
  /** Send over HTTPS: the CA to trust and the SNI name to send (the Host header's, by default). */
  tls?: { ca: string | Buffer; servername?: string };
}

export interface Sample {
  startMs: number;
  latencyMs: number;
  status: number;
  error?: string;
  /** The value of the `tagHeader` response header, when asked for. */
  tag?: string;
}

export interface WindowStats {
  requests: number;
  failed: number;
  /** Failure reasons ("HTTP 502", "ECONNRESET", ...) with counts. */
  failures: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  rps: number;
}

/**
 * A bounded load loop on loopback: `connections` keep-alive connections each send one request
 * after another until a bound is reached. Every response is kept as a Sample so a caller can ask
 * for the numbers of any time window (steady state versus a deploy window).
 */
export class LoadRun {
  readonly samples: Sample[] = [];
  private stopped = false;
  private readonly agent: Agent;
  private readonly origin = performance.now();
  private done: Promise<void> | undefined;
  private sent = 0;

  constructor(private readonly options: LoadOptions) {
    const tls = options.tls;
    this.agent =
      tls === undefined
        ? new Agent({ keepAlive: true, maxSockets: options.connections })
        : new HttpsAgent({
            keepAlive: true,
            maxSockets: options.connections,
            ca: tls.ca,
            ...((tls.servername ?? options.hostHeader) === undefined
              ? {}
              : { servername: tls.servername ?? options.hostHeader }),
          });
  }

  /** Milliseconds since the run was created (the clock of every Sample). */
  now(): number {
    return performance.now() - this.origin;
  }

  start(): this {
    const deadline = this.now() + this.options.maxDurationMs;
    const workers = Array.from({ length: this.options.connections }, (_, i) => this.worker(i, deadline));
    this.done = Promise.all(workers).then(() => {
      this.agent.destroy();
    });
    return this;
  }

  async stop(): Promise<WindowStats> {
    this.stopped = true;
    await this.done;
    return this.window(0, Infinity);
  }

  /** Numbers for the requests that started within [fromMs, toMs). */
  window(fromMs: number, toMs: number): WindowStats {
    const inWindow = this.samples.filter((s) => s.startMs >= fromMs && s.startMs < toMs);
    return summarize(inWindow, Math.min(toMs, this.now()) - fromMs);
  }

  private async worker(index: number, deadline: number): Promise<void> {
    const { requests, maxRequests } = this.options;
    let i = index;
    while (!this.stopped && this.sent < maxRequests && this.now() < deadline) {
      this.sent++;
      const spec = requests[i++ % requests.length] as LoadRequest;
      this.samples.push(await this.one(spec));
    }
  }

  private one(spec: LoadRequest): Promise<Sample> {
    const startMs = this.now();
    return new Promise((resolve) => {
      let tag: string | undefined;
      const finish = (status: number, error?: string): void =>
        resolve({
          startMs,
          latencyMs: this.now() - startMs,
          status,
          ...(error === undefined ? {} : { error }),
          ...(tag === undefined ? {} : { tag }),
        });
      const headers: Record<string, string> = { ...spec.headers };
      if (this.options.hostHeader !== undefined) headers.host = this.options.hostHeader;
      if (spec.body !== undefined) headers["content-length"] = String(Buffer.byteLength(spec.body));
      const req = (this.options.tls === undefined ? request : httpsRequest)(
        {
          host: this.options.host ?? "127.0.0.1",
          port: this.options.port,
          method: spec.method ?? "GET",
          path: spec.path,
          headers,
          agent: this.agent,
        },
        (res) => {
          const tagHeader = this.options.tagHeader;
          if (tagHeader !== undefined) {
            const value = res.headers[tagHeader];
            if (typeof value === "string") tag = value;
          }
          res.on("data", () => {});
          res.on("end", () => finish(res.statusCode ?? 0));
          res.on("error", (e: NodeJS.ErrnoException) => finish(0, e.code ?? e.message));
        },
      );
      req.setTimeout(this.options.requestTimeoutMs ?? 30_000, () => req.destroy(new Error("client timeout")));
      req.on("error", (e: NodeJS.ErrnoException) => finish(0, e.code ?? e.message));
      req.end(spec.body);
    });
  }
}

export function summarize(samples: readonly Sample[], spanMs: number): WindowStats {
  const failures: Record<string, number> = {};
  let failed = 0;
  const latencies = new Float64Array(samples.length);
  samples.forEach((s, i) => {
    latencies[i] = s.latencyMs;
    if (s.error !== undefined || s.status < 200 || s.status >= 400) {
      failed++;
      const reason = s.error ?? `HTTP ${s.status}`;
      failures[reason] = (failures[reason] ?? 0) + 1;
    }
  });
  latencies.sort();
  const at = (q: number): number =>
    latencies.length === 0 ? 0 : (latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] ?? 0);
  return {
    requests: samples.length,
    failed,
    failures,
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    maxMs: round(latencies.length === 0 ? 0 : (latencies[latencies.length - 1] ?? 0)),
    rps: spanMs > 0 ? Math.round((samples.length * 1000) / spanMs) : 0,
  };
}

const round = (n: number): number => Math.round(n * 100) / 100;
