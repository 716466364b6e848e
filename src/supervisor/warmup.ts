import { Agent, request } from "node:http";

export interface WarmupSpec {
  paths: string[];
  /** Requests per instance, spread over the paths in turn. */
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
  const one = (path: string): Promise<boolean> =>
    new Promise((resolve) => {
      const req = request({ host, port, path, agent, headers: { "x-baton-warmup": "1" } }, (res) => {
        res.resume();
        res.once("end", () => resolve((res.statusCode ?? 500) < 500));
      });
      req.setTimeout(spec.timeoutMs, () => req.destroy());
      req.once("error", () => resolve(false));
      req.end();
    });
  const worker = async (): Promise<void> => {
    while (next < spec.count) {
      const path = spec.paths[next++ % spec.paths.length] ?? "/";
      if (await one(path)) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, spec.concurrency) }, worker));
  agent.destroy();
  return { ok, failed };
}
