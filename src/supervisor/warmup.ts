import { Agent, request } from "node:http";

export interface WarmupRequest {
  method: string;
  path: string;
  body: string | undefined;
}

export interface WarmupSpec {
  requests: readonly WarmupRequest[];
  /** Requests per instance, spread over `requests` in turn. */
  count: number;
  concurrency: number;
  timeoutMs: number;
}

/**
 * Send warm-up traffic straight to a new instance before it gets users, so the first users do
 * not pay for cold caches, lazy module loading or JIT. Returns how many answered below 500.
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
  const one = ({ method, path, body }: WarmupRequest): Promise<boolean> =>
    new Promise((resolve) => {
      const headers: Record<string, string> = { "x-baton-warmup": "1" };
      if (body !== undefined) {
        headers["content-type"] = body.startsWith("{") || body.startsWith("[") ? "application/json" : "text/plain";
        headers["content-length"] = String(Buffer.byteLength(body));
      }
      const req = request({ host, port, path, method, agent, headers }, (res) => {
        res.resume();
        res.once("end", () => resolve((res.statusCode ?? 500) < 500));
      });
      req.setTimeout(spec.timeoutMs, () => req.destroy());
      req.once("error", () => resolve(false));
      req.end(body);
    });
  const worker = async (): Promise<void> => {
    while (next < spec.count) {
      const turn = spec.requests[next++ % spec.requests.length] ?? { method: "GET", path: "/", body: undefined };
      if (await one(turn)) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, spec.concurrency) }, worker));
  agent.destroy();
  return { ok, failed };
}
