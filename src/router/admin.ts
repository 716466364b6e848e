import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { BatonError } from "../core/errors.js";
import { closeServer, listenUnix, readJsonBody, replyError, replyJson, stopAccepting } from "../core/json-http.js";
import type { AppRouteSpec } from "./app-route.js";
import type { RouterOps } from "./ops.js";
import type { RouterOptions } from "./options.js";
import type { PoolSpec } from "./pool.js";

type Handler = (params: string[], body: Record<string, unknown>) => Promise<unknown>;

/**
 * The router's admin API: JSON over HTTP on a unix socket (mode 0600), used by the control plane.
 * Every answer is JSON; failures carry a stable error code. It only translates HTTP to RouterOps,
 * so the same API serves a single router process and a cluster of workers.
 */
export class AdminApi {
  private readonly server: Server;
  private readonly routes: Array<[method: string, pattern: RegExp, handler: Handler]>;

  constructor(
    ops: RouterOps,
    options: RouterOptions,
    info: () => Record<string, unknown>,
    /** Resolves once every change is on disk: a change is answered only once it would survive a crash. */
    private readonly flushed: () => Promise<void> = async () => {},
    /** Restart in place (router.ts handOff); absent where a process cannot (cluster mode). */
    handOff?: () => Promise<{ pid: number }>,
  ) {
    const describeApp = async (name: string) => {
      const app = (await ops.describe()).apps.find((a) => a.name === name);
      if (app === undefined)
        throw new BatonError("BATON_ADMIN_NOT_FOUND", `no app named "${name}" in the routing table`);
      return app;
    };
    const num = (value: unknown, fallback: number): number => (typeof value === "number" ? value : fallback);
    this.routes = [
      ["GET", /^\/v1\/health$/, async () => ({ ok: true, ...info() })],
      [
        "POST",
        /^\/v1\/handoff$/,
        async () => {
          if (handOff === undefined)
            throw new BatonError(
              "BATON_USAGE",
              "this router cannot restart in place (--workers N): restart it instead",
            );
          return handOff();
        },
      ],
      ["GET", /^\/v1\/table$/, () => ops.describe()],
      ["POST", /^\/v1\/tls\/reload$/, () => ops.reloadTls()],
      [
        "PUT",
        /^\/v1\/apps\/([^/]+)$/,
        async ([name], body) => {
          await ops.putApp({ ...(body as unknown as AppRouteSpec), name: name as string });
          return describeApp(name as string);
        },
      ],
      ["DELETE", /^\/v1\/apps\/([^/]+)$/, async ([name]) => ({ handedBack: await ops.removeApp(name as string) })],
      ["POST", /^\/v1\/apps\/([^/]+)\/swap$/, ([name], body) => ops.swap(name as string, body.pool as PoolSpec)],
      [
        "POST",
        /^\/v1\/apps\/([^/]+)\/prepare$/,
        ([name], body) =>
          ops.prepare(
            name as string,
            body.pool as PoolSpec,
            // Absent or null: no warm-up host. Anything else is checked by the table.
            body.warmupHost === undefined || body.warmupHost === null ? undefined : (body.warmupHost as string),
          ),
      ],
      [
        "DELETE",
        /^\/v1\/apps\/([^/]+)\/prepare$/,
        async ([name]) => ({ dropped: await ops.unprepare(name as string) }),
      ],
      [
        "PUT",
        /^\/v1\/apps\/([^/]+)\/canary$/,
        async ([name], body) => {
          const pool = (body.pool ?? null) as PoolSpec | null;
          const removed = await ops.setCanary(name as string, pool, num(body.weight, 0), body.sticky !== false);
          return { removed, ...(await describeApp(name as string)) };
        },
      ],
      [
        "POST",
        /^\/v1\/apps\/([^/]+)\/(pause|resume)$/,
        async ([name, verb]) => {
          await ops.setPaused(name as string, verb === "pause");
          return describeApp(name as string);
        },
      ],
      [
        "PUT",
        /^\/v1\/apps\/([^/]+)\/maintenance$/,
        async ([name], body) => {
          await ops.setMaintenance(name as string, {
            enabled: body.enabled === true,
            retryAfterS: num(body.retryAfterS, 60),
            ...(typeof body.html === "string" ? { html: body.html } : {}),
          });
          return describeApp(name as string);
        },
      ],
      [
        "POST",
        /^\/v1\/pools\/([^/]+)\/drain$/,
        ([id], body) =>
          ops.drain(id as string, {
            timeoutMs: num(body.timeoutMs, options.drainTimeoutMs),
            streamCloseWindowMs: num(body.streamCloseWindowMs, options.streamCloseWindowMs),
          }),
      ],
      ["GET", /^\/v1\/stats$/, async () => ({ apps: await ops.stats() })],
      // Stats and table in one round trip, for a caller that reads both every second (the
      // server's traffic sampler); a POST with a JSON body, like every change, on purpose:
      // observe/traffic.ts says why.
      ["POST", /^\/v1\/read$/, async () => ({ stats: { apps: await ops.stats() }, table: await ops.describe() })],
      [
        "GET",
        /^\/v1\/apps\/([^/]+)\/stats$/,
        async ([name]) => {
          const stats = (await ops.stats()).find((a) => a.app === name);
          if (stats === undefined) throw new BatonError("BATON_ADMIN_NOT_FOUND", `no app named "${name}"`);
          return stats;
        },
      ],
    ];
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  listen(socketPath: string): Promise<void> {
    return listenUnix(this.server, socketPath);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  /**
   * Stop accepting admin connections and remove the socket file (libuv unlinks a unix listener's
   * path when it closes), keeping the connections already open: the handoff request that called
   * this still has to be answered on one.
   */
  stopListening(): void {
    stopAccepting(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      for (const [method, pattern, handler] of this.routes) {
        const match = pattern.exec(path);
        if (match === null || method !== req.method) continue;
        const body = req.method === "GET" ? {} : await readJsonBody(req);
        const params = match.slice(1).map((p) => decodeURIComponent(p));
        const result = await handler(params, body);
        if (req.method !== "GET") await this.flushed();
        replyJson(res, 200, result);
        return;
      }
      throw new BatonError("BATON_ADMIN_NOT_FOUND", `no admin route ${req.method} ${path}`);
    } catch (error) {
      replyError(res, error);
    }
  }
}
