import { Agent, request } from "node:http";

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
  /** The Host header to send (default: host:port, as node:http does). */
  hostHeader?: string;
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
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  let next = 0;
  let ok = 0;
  let failed = 0;
  const one = ({ method, path, body }: WarmupRequest, lastOnConnection: boolean): Promise<boolean> =>
    new Promise((resolve) => {
      const headers: Record<string, string> = { "x-baton-warmup": "1" };
      if (spec.hostHeader !== undefined) headers.host = spec.hostHeader;
      if (lastOnConnection) headers.connection = "close";
      if (body !== undefined) {
        headers["content-type"] = body.startsWith("{") || body.startsWith("[") ? "application/json" : "text/plain";
        headers["content-length"] = String(Buffer.byteLength(body));
      }
      const req = request({ host, port, path, method, agent, headers }, (res) => {
        res.resume();
        // X-Baton-Error: the router answered itself (no such warm-up host, no instance ready),
        // so the request warmed nothing.
        res.once("end", () => resolve((res.statusCode ?? 500) < 500 && res.headers["x-baton-error"] === undefined));
      });
      req.setTimeout(spec.timeoutMs, () => req.destroy());
      req.once("error", () => resolve(false));
      req.end(body);
    });
  const worker = async (): Promise<void> => {
    let onConnection = 0;
    while (next < spec.count) {
      const turn = spec.requests[next++ % spec.requests.length] ?? { method: "GET", path: "/", body: undefined };
      onConnection = (onConnection + 1) % (spec.requestsPerConnection ?? REQUESTS_PER_CONNECTION);
      if (await one(turn, onConnection === 0)) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, spec.concurrency) }, worker));
  agent.destroy();
  return { ok, failed };
}
