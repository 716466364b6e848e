import { type ConnectionOwner, UpstreamConnection } from "../router/upstream/connection.js";
import type { ResponseHead } from "../router/upstream/response-parser.js";

export interface WarmupRequest {
  method: string;
  path: string;
  body: string | undefined;
}

/**
 * Each warm-up connection is closed after this many requests and the next one opens a new one.
 * At the switch the router opens fresh connections to the new instance; if warm-up only ever
 * reused its first few, the code the instance optimized has never seen a connection open, and
 * the first real connections deoptimize it. `node bench/deploy/swap-jit.mjs` (examples/hello
 * warmed with 3000 requests, then a router's traffic moved to it; medians of 3 rounds): 19 deopts
 * in the app after the swap with keep-alive-only warm-up, 2-4 with connections renewed like this.
 * The dip after the swap did not change with it (p99 2.0-2.4 ms at 0.6-0.7x the rate in the first
 * quarter second); what removed it is the half of the warm-up a deploy sends through the router
 * (deploy/boot.ts warm()).
 */
const REQUESTS_PER_CONNECTION = 20;

export interface WarmupSpec {
  requests: readonly WarmupRequest[];
  /** Requests per instance, spread over `requests` in turn. */
  count: number;
  concurrency: number;
  timeoutMs: number;
  /** Requests on one connection before a new one (default 20; Infinity keeps the first ones). */
  requestsPerConnection?: number;
  /** The Host header to send (default: host:port). */
  hostHeader?: string;
}

/** One request's bytes, as it goes out on a kept connection and as the last one on it. */
interface Encoded {
  method: string;
  keep: Buffer;
  last: Buffer;
}

function encode({ method, path, body }: WarmupRequest, hostHeader: string): Encoded {
  let head = `${method} ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nX-Baton-Warmup: 1\r\n`;
  if (body !== undefined) {
    const type = body.startsWith("{") || body.startsWith("[") ? "application/json" : "text/plain";
    head += `Content-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  } else if (method !== "GET" && method !== "HEAD") {
    head += "Content-Length: 0\r\n";
  }
  return {
    method,
    keep: Buffer.from(`${head}\r\n${body ?? ""}`),
    last: Buffer.from(`${head}Connection: close\r\n\r\n${body ?? ""}`),
  };
}

/** A warm-up answer warmed the instance when it is below 500 and not the router's own (X-Baton-Error). */
function warmed(head: ResponseHead | undefined): boolean {
  if (head === undefined || head.status >= 500) return false;
  for (let i = 0; i < head.rawHeaders.length; i += 2)
    if (head.rawHeaders[i]?.toLowerCase() === "x-baton-error") return false;
  return true;
}

/**
 * One warm-up worker's connection, renewed every `requestsPerConnection` requests. Built on the
 * router's own upstream connection and response parser rather than node:http's client: warm-up
 * runs in `baton server` on the same cores as the live traffic, and node:http costs about 3x the
 * client CPU per request (`node bench/deploy/warmup-client.mjs`, 2026-11-29: 285 against 85 us
 * for 300 requests, 157 against 50 for 3000), in a process whose HTTP client code is cold at
 * every deploy.
 */
class WarmupConnection implements ConnectionOwner {
  private connection: UpstreamConnection | undefined;
  private sent = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly perConnection: number,
  ) {}

  send(request: Encoded, timeoutMs: number): Promise<boolean> {
    this.sent++;
    const last = this.sent % this.perConnection === 0;
    this.connection ??= new UpstreamConnection(this.host, this.port, this);
    const connection = this.connection;
    return new Promise((resolve) => {
      let head: ResponseHead | undefined;
      const timer = setTimeout(() => {
        connection.destroy();
        resolve(false);
      }, timeoutMs);
      connection.assign(
        {
          onConnect: () => {
            connection.write(last ? request.last : request.keep);
            connection.requestComplete();
          },
          onHead: (h) => {
            head = h;
          },
          onData: () => undefined,
          onReadDone: () => undefined,
          onEnd: () => {
            clearTimeout(timer);
            resolve(warmed(head));
          },
          onError: () => {
            clearTimeout(timer);
            resolve(false);
          },
        },
        request.method,
      );
    });
  }

  release(): void {
    // Kept as `this.connection` for the next request.
  }

  forget(connection: UpstreamConnection): void {
    if (this.connection === connection) this.connection = undefined;
  }

  close(): void {
    this.connection?.destroy();
  }
}

/**
 * Send warm-up traffic to a new instance (straight, or through the router with `hostHeader`)
 * before it gets users, so the first users do not pay for cold caches, lazy module loading or
 * JIT. Returns how many answered below 500.
 */
export async function warmUp(
  port: number,
  spec: WarmupSpec,
  host = "127.0.0.1",
): Promise<{ ok: number; failed: number }> {
  const hostHeader = spec.hostHeader ?? `${host}:${port}`;
  const encoded = spec.requests.map((r) => encode(r, hostHeader));
  if (encoded.length === 0) encoded.push(encode({ method: "GET", path: "/", body: undefined }, hostHeader));
  let next = 0;
  let ok = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    const connection = new WarmupConnection(host, port, spec.requestsPerConnection ?? REQUESTS_PER_CONNECTION);
    try {
      while (next < spec.count) {
        const request = encoded[next++ % encoded.length] as Encoded;
        if (await connection.send(request, spec.timeoutMs)) ok++;
        else failed++;
      }
    } finally {
      connection.close();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, spec.concurrency) }, worker));
  return { ok, failed };
}
