import { chmodSync, existsSync, unlinkSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { BatonError } from "../core/errors.js";
import type { AppRouteSpec, MaintenanceSpec } from "./app-route.js";
import { drainPool } from "./drain.js";
import type { RouterOptions } from "./options.js";
import type { PoolSpec } from "./pool.js";
import type { RoutingTable } from "./table.js";

const MAX_BODY_BYTES = 1024 * 1024;

type Handler = (params: string[], body: Record<string, unknown>) => unknown | Promise<unknown>;

/**
 * The router's admin API: JSON over HTTP on a unix socket (mode 0600), used by the control plane.
 * Every answer is JSON; failures carry a stable error code.
 */
export class AdminApi {
  private readonly server: Server;
  private readonly routes: Array<[method: string, pattern: RegExp, handler: Handler]>;

  constructor(
    private readonly table: RoutingTable,
    private readonly options: RouterOptions,
    private readonly info: () => Record<string, unknown>,
  ) {
    this.routes = [
      ["GET", /^\/v1\/health$/, () => ({ ok: true, ...this.info() })],
      ["GET", /^\/v1\/table$/, () => this.describe()],
      [
        "PUT",
        /^\/v1\/apps\/([^/]+)$/,
        ([name], body) => {
          this.table.putApp({ ...(body as unknown as AppRouteSpec), name: name as string });
          return this.describeApp(name as string);
        },
      ],
      [
        "DELETE",
        /^\/v1\/apps\/([^/]+)$/,
        ([name]) => ({
          handedBack: this.table.removeApp(name as string).map((p) => p.spec()),
        }),
      ],
      [
        "POST",
        /^\/v1\/apps\/([^/]+)\/swap$/,
        ([name], body) => {
          const { previous, active } = this.table.swap(name as string, body.pool as PoolSpec);
          return { active: active.spec(), previous: previous?.spec() ?? null };
        },
      ],
      [
        "PUT",
        /^\/v1\/apps\/([^/]+)\/canary$/,
        ([name], body) => {
          const removed = this.table.setCanary(
            name as string,
            (body.pool ?? null) as PoolSpec | null,
            typeof body.weight === "number" ? body.weight : 0,
            body.sticky !== false,
          );
          return { removed: removed?.spec() ?? null, ...this.describeApp(name as string) };
        },
      ],
      [
        "POST",
        /^\/v1\/apps\/([^/]+)\/(pause|resume)$/,
        ([name, verb]) => {
          this.table.setPaused(name as string, verb === "pause");
          return this.describeApp(name as string);
        },
      ],
      [
        "PUT",
        /^\/v1\/apps\/([^/]+)\/maintenance$/,
        ([name], body) => {
          this.table.setMaintenance(name as string, {
            enabled: body.enabled === true,
            retryAfterS: typeof body.retryAfterS === "number" ? body.retryAfterS : 60,
            ...(typeof body.html === "string" ? { html: body.html } : {}),
          } satisfies MaintenanceSpec);
          return this.describeApp(name as string);
        },
      ],
      [
        "POST",
        /^\/v1\/pools\/([^/]+)\/drain$/,
        async ([id], body) => {
          const entry = this.table.handedBack.get(id as string);
          if (entry === undefined) {
            throw new BatonError("BATON_ADMIN_NOT_FOUND", `pool "${id}" is not waiting to be drained`, {
              hint: "only a pool handed back by a swap, a canary change or an app removal can be drained",
            });
          }
          return drainPool(this.table, entry.pool, {
            timeoutMs: typeof body.timeoutMs === "number" ? body.timeoutMs : this.options.drainTimeoutMs,
            streamCloseWindowMs:
              typeof body.streamCloseWindowMs === "number"
                ? body.streamCloseWindowMs
                : this.options.streamCloseWindowMs,
          });
        },
      ],
      ["GET", /^\/v1\/stats$/, () => ({ apps: [...this.table.apps.values()].map((a) => a.stats.snapshot()) })],
      ["GET", /^\/v1\/apps\/([^/]+)\/stats$/, ([name]) => this.table.app(name as string).stats.snapshot()],
    ];
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  listen(socketPath: string): Promise<void> {
    // A socket file left by a killed router would make listen() fail with EADDRINUSE.
    if (existsSync(socketPath)) unlinkSync(socketPath);
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(socketPath, () => {
        chmodSync(socketPath, 0o600);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  describe(): Record<string, unknown> {
    return {
      apps: [...this.table.apps.keys()].map((name) => this.describeApp(name)),
      draining: [...this.table.handedBack.entries()].map(([id, { app, pool }]) => ({ id, app, pool: pool.toJSON() })),
    };
  }

  private describeApp(name: string): Record<string, unknown> {
    const app = this.table.app(name);
    return {
      ...app.spec(),
      active: app.active?.toJSON() ?? null,
      canary: app.canary === null ? null : { pool: app.canary.toJSON(), weight: app.canaryWeight, sticky: app.sticky },
      heldNow: app.hold.size,
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      for (const [method, pattern, handler] of this.routes) {
        const match = pattern.exec(path);
        if (match === null || method !== req.method) continue;
        const body = req.method === "GET" ? {} : await readJson(req);
        const params = match.slice(1).map((p) => decodeURIComponent(p));
        reply(res, 200, await handler(params, body));
        return;
      }
      throw new BatonError("BATON_ADMIN_NOT_FOUND", `no admin route ${req.method} ${path}`);
    } catch (error) {
      const baton =
        error instanceof BatonError ? error : new BatonError("BATON_USAGE", String((error as Error)?.message ?? error));
      reply(res, baton.status, { error: baton.toJSON() });
    }
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BatonError("BATON_USAGE", "admin request body too large");
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
    return value as Record<string, unknown>;
  } catch (error) {
    throw new BatonError("BATON_USAGE", "admin request body must be a JSON object", { cause: error });
  }
}
