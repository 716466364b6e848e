import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { BatonError } from "../core/errors.js";
import { closeServer, listenUnix, readJsonBody, replyError, replyJson } from "../core/json-http.js";
import { listenTcp, tcpPort } from "../core/listen.js";
import { maintenanceView } from "../deploy/app-admin.js";
import type { ControlPlane } from "../deploy/control-plane.js";
import { appPaths } from "../deploy/paths.js";
import type { TrafficSampler } from "../observe/traffic.js";
import type { DeployKind, DeployRecord, EventRecord } from "../store/store.js";
import { followFile, readLastLines } from "../supervisor/logs.js";
import type { ApiTls } from "./api-tls.js";
import { appAdminRoutes } from "./app-routes.js";
import { createAppRepo, pushedCommit, pushedSource } from "./git-repo.js";
import { runRoutes } from "./run-routes.js";
import { STREAMED } from "./streamed.js";
import type { ServerToken } from "./token.js";
import { trafficRoutes } from "./traffic-routes.js";
import { configKeyDiff, deployView } from "./views.js";
import { webhookRoutes } from "./webhook-routes.js";

type Handler = (ctx: {
  params: string[];
  body: Record<string, unknown>;
  query: URLSearchParams;
  req: IncomingMessage;
  res: ServerResponse;
}) => Promise<unknown>;

/**
 * The server's API: JSON over HTTP on a unix socket (mode 0600) with a bearer token, used by the
 * CLI and git receive; the dashboard reaches the same routes through `dispatch` once its session
 * cookie is checked (web-server.ts). Deploys stream their events as NDJSON so the CLI can show
 * each step live; the deploy continues if the client goes away.
 */
export class ServerApi {
  private readonly server: Server;
  private readonly routes: Array<[method: string, pattern: RegExp, handler: Handler]>;

  constructor(
    private readonly plane: ControlPlane,
    private readonly token: ServerToken,
    info: () => Record<string, unknown>,
    onShutdown: (keepRunning: boolean) => void,
    traffic?: TrafficSampler,
    /** `baton router:restart`: the router hands its socket to a successor (the code now on disk). */
    restartRouter?: () => Promise<{ previousPid: number; pid: number }>,
    /** `baton tls:reload`: the router reads its TLS directory again. */
    reloadRouterTls?: () => Promise<unknown>,
  ) {
    const { store } = plane;
    const app = (name: string) => {
      const record = store.getApp(name);
      if (record === undefined)
        throw new BatonError("BATON_NOT_FOUND", `app "${name}" does not exist`, {
          hint: "`baton apps` lists the apps",
        });
      return record;
    };
    this.routes = [
      ["GET", /^\/v1\/health$/, async () => ({ ok: true, ...info() })],
      [
        "GET",
        /^\/v1\/audit$/,
        async ({ query }) => {
          const app = query.get("app") ?? undefined;
          const limit = Math.min(Number(query.get("limit") ?? 100) || 100, 10_000);
          return {
            audit: store.listEvents({ ...(app === undefined ? {} : { app }), kinds: ["audit"], limit, newest: true }),
          };
        },
      ],
      [
        "GET",
        /^\/v1\/apps$/,
        async () => ({
          apps: store.listApps().map(({ configVars: _hidden, maintenance, ...rest }) => ({
            ...rest,
            maintenance: maintenanceView(maintenance),
          })),
        }),
      ],
      ...appAdminRoutes(plane),
      ...webhookRoutes(plane),
      ...runRoutes(plane),
      ...(traffic === undefined ? [] : trafficRoutes(plane, traffic)),
      [
        "POST",
        /^\/v1\/apps$/,
        async ({ body }) => {
          // `baton apps:create`: the app and its git repository; `repoOnly` adds (or refreshes)
          // the repository of an app that exists, e.g. one deployed from a directory so far.
          const name = typeof body.name === "string" ? body.name : "";
          const record = body.repoOnly === true ? app(name) : plane.createApp(name);
          const path = await createAppRepo(plane.home, record.name);
          return { app: record.name, domains: record.domains, isDefault: record.isDefault, path };
        },
      ],
      ["GET", /^\/v1\/apps\/([^/]+)$/, async ({ params: [name] }) => plane.status(name as string)],
      [
        "GET",
        /^\/v1\/apps\/([^/]+)\/instances$/,
        async ({ params: [name] }) => ({ instances: plane.ps(app(name as string).name) }),
      ],
      [
        "GET",
        /^\/v1\/apps\/([^/]+)\/releases$/,
        async ({ params: [name] }) => {
          const record = app(name as string);
          const deploys = store.listDeploys({ app: record.name });
          const all = store.listReleases(record.name);
          return {
            currentVersion: record.currentVersion,
            releases: all.map(({ appConfig: _config, configVars, ...r }) => {
              const made = deploys.find((d) => d.version === r.version);
              const before = all.find((other) => other.version < r.version);
              return {
                ...r,
                configKeys: Object.keys(configVars).sort(),
                configDiff: before === undefined ? null : configKeyDiff(before.configVars, configVars),
                commit: pushedCommit(r, all, deploys),
                current: r.version === record.currentVersion,
                deploy: made === undefined ? null : { id: made.id, status: made.status, durationMs: duration(made) },
              };
            }),
          };
        },
      ],
      [
        "GET",
        /^\/v1\/apps\/([^/]+)\/deploys$/,
        async ({ params: [name] }) => ({
          deploys: store
            .listDeploys({ app: app(name as string).name, limit: 100 })
            .map((d) => deployView(store, d, false)),
        }),
      ],
      ["GET", /^\/v1\/deploys\/(\d+)$/, async ({ params: [id] }) => this.deploy(Number(id))],
      [
        "GET",
        /^\/v1\/deploys\/(\d+)\/events$/,
        async ({ params: [id] }) => {
          this.deploy(Number(id));
          return { events: store.listEvents({ deployId: Number(id) }) };
        },
      ],
      [
        "POST",
        /^\/v1\/apps\/([^/]+)\/deploys$/,
        async (ctx) => this.startDeploy(ctx.params[0] as string, "deploy", deployRequest(ctx.body), ctx),
      ],
      [
        "POST",
        /^\/v1\/apps\/([^/]+)\/rollback$/,
        async (ctx) => {
          const name = ctx.params[0] as string;
          plane.apps.assertUnlocked(name, "rollback");
          const version = typeof ctx.body.version === "number" ? ctx.body.version : undefined;
          const previous = store.getDeploy(plane.runningDeploy(name) ?? -1)?.fromVersion;
          if (plane.canAbortRunning(name) && (version === undefined || version === previous)) {
            // The previous release is on standby (or the new one only has a canary share): one
            // router swap puts it back, no boot. Follow the deploy that does it to its end.
            const deploy = plane.control(name, "abort", "baton rollback", "rolled back by hand");
            return this.follow(deploy.id, ctx);
          }
          return this.startDeploy(
            name,
            "rollback",
            { ...(version === undefined ? {} : { version }), releasePhase: ctx.body.releasePhase === true },
            ctx,
          );
        },
      ],
      [
        "POST",
        /^\/v1\/apps\/([^/]+)\/deploy\/(promote|abort)$/,
        async (ctx) => {
          const [name, verb] = ctx.params as [string, "promote" | "abort"];
          const deploy = plane.control(name, verb, typeof ctx.body.by === "string" ? ctx.body.by : `deploy:${verb}`);
          return verb === "abort" ? this.follow(deploy.id, ctx) : { deploy: deployView(store, deploy, false) };
        },
      ],
      [
        "POST",
        /^\/v1\/apps\/([^/]+)\/deploy\/cancel$/,
        async (ctx) => {
          const id = typeof ctx.body.id === "number" ? ctx.body.id : undefined;
          const by = typeof ctx.body.by === "string" ? ctx.body.by : "deploy:cancel";
          return this.follow(plane.cancel(ctx.params[0] as string, id, by).id, ctx);
        },
      ],
      [
        "GET",
        /^\/v1\/apps\/([^/]+)\/config$/,
        async ({ params: [name] }) => ({ config: app(name as string).configVars }),
      ],
      [
        "PATCH",
        /^\/v1\/apps\/([^/]+)\/config$/,
        async (ctx) => {
          const name = ctx.params[0] as string;
          const change = configRequest(ctx.body);
          const record = store.getApp(name);
          if (record === undefined || record.currentVersion === null) {
            // Nothing runs yet: the vars wait for the first deploy (DATABASE_URL before the first
            // release phase, say). Answered as one NDJSON line, as a deploy's result would be.
            const config = plane.setConfigBeforeFirstDeploy(
              name,
              change.set as Record<string, string>,
              change.unset as string[],
            );
            ctx.res.writeHead(200, { "Content-Type": "application/x-ndjson" });
            ctx.res.end(`${JSON.stringify({ applied: { app: name, keys: Object.keys(config).sort() } })}\n`);
            return STREAMED;
          }
          return this.startDeploy(name, "config", change, ctx);
        },
      ],
      [
        "GET",
        /^\/v1\/apps\/([^/]+)\/logs$/,
        async (ctx) => this.logs(app(ctx.params[0] as string).name, ctx.query, ctx.req, ctx.res),
      ],
      [
        "POST",
        /^\/v1\/token\/rotate$/,
        async () => {
          await token.rotate();
          return { rotated: true, path: token.path };
        },
      ],
      [
        "POST",
        /^\/v1\/router\/tls\/reload$/,
        async () => {
          if (reloadRouterTls === undefined) throw new BatonError("BATON_USAGE", "this server cannot reach its router");
          return reloadRouterTls();
        },
      ],
      [
        "POST",
        /^\/v1\/router\/restart$/,
        async () => {
          if (restartRouter === undefined) throw new BatonError("BATON_USAGE", "this server cannot restart its router");
          // Routing changes a running deploy made during the handoff could miss the successor.
          const [running] = plane.runningDeploys();
          if (running !== undefined)
            throw new BatonError("BATON_DEPLOY_IN_PROGRESS", `deploy ${running.id} of "${running.app}" is running`, {
              hint: "restart the router once it has finished (baton status)",
            });
          return restartRouter();
        },
      ],
      [
        "POST",
        /^\/v1\/shutdown$/,
        async ({ body }) => {
          const keepRunning = body.keepRunning === true;
          setImmediate(() => onShutdown(keepRunning));
          return { ok: true, keepRunning };
        },
      ],
    ];
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  listen(socketPath: string): Promise<void> {
    return listenUnix(this.server, socketPath);
  }

  private tlsServer: HttpsServer | undefined;

  /** The same API over TLS on TCP (`--api-port`), for CLIs on other machines; same token. */
  async listenTls(port: number, host: string, tls: ApiTls, option?: string): Promise<number> {
    const server = createHttpsServer({ ...tls, minVersion: "TLSv1.2" }, (req, res) => void this.handle(req, res));
    const bound = await listenTcp(server, port, host, option);
    this.tlsServer = server;
    return bound;
  }

  get tlsPort(): number | undefined {
    return this.tlsServer === undefined ? undefined : tcpPort(this.tlsServer);
  }

  async close(): Promise<void> {
    await Promise.all([
      closeServer(this.server),
      ...(this.tlsServer === undefined ? [] : [closeServer(this.tlsServer)]),
    ]);
  }

  private deploy(id: number): Record<string, unknown> {
    const deploy = this.plane.store.getDeploy(id);
    if (deploy === undefined) throw new BatonError("BATON_NOT_FOUND", `deploy ${id} does not exist`);
    return deployView(this.plane.store, deploy, true);
  }

  /**
   * Queue the deploy, then (unless `?wait=0`) stream its events as NDJSON lines `{"event": ...}`
   * and end with `{"deploy": ...}` once it has finished.
   */
  private async startDeploy(
    app: string,
    kind: DeployKind,
    request: Record<string, unknown>,
    ctx: Parameters<Handler>[0],
  ): Promise<unknown> {
    const deploy = this.plane.enqueue(app, kind, request);
    return this.follow(deploy.id, ctx);
  }

  /** Stream a deploy's events (past and live) as NDJSON, ending with the finished deploy. */
  private async follow(id: number, ctx: Parameters<Handler>[0]): Promise<unknown> {
    const deploy = { id };
    if (ctx.query.get("wait") === "0") return this.deploy(deploy.id);
    const { res } = ctx;
    res.writeHead(200, { "Content-Type": "application/x-ndjson", "Cache-Control": "no-cache" });
    const send = (line: unknown): void => {
      if (!res.destroyed) res.write(`${JSON.stringify(line)}\n`);
    };
    for (const event of this.plane.store.listEvents({ deployId: deploy.id })) send({ event });
    const unsubscribe = this.plane.events.subscribe((event: EventRecord) => {
      if (event.deployId === deploy.id) send({ event });
    });
    // A client that is gone needs no more events; the deploy itself goes on.
    res.once("close", unsubscribe);
    const finished: DeployRecord = await this.plane.whenFinished(deploy.id);
    unsubscribe();
    send({ deploy: deployView(this.plane.store, finished, true) });
    res.end();
    return STREAMED;
  }

  /** Recent lines of every instance log and the latest deploy log; `follow=1` keeps streaming. */
  private async logs(app: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const lines = Math.min(Number(query.get("lines") ?? 100) || 100, 10_000);
    const sources: Array<{ label: string; path: string }> = [];
    const [lastDeploy] = this.plane.store.listDeploys({ app, limit: 1 });
    if (lastDeploy !== undefined)
      sources.push({
        label: `baton[deploy.${lastDeploy.id}]`,
        path: appPaths(this.plane.home, app).deployLog(lastDeploy.id),
      });
    for (const i of this.plane.ps(app)) sources.push({ label: `app[${i.type}.${i.index}]`, path: i.logPath });
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache" });
    for (const source of sources) {
      if (!existsSync(source.path)) continue;
      for (const line of await readLastLines(source.path, lines)) res.write(`${source.label}: ${line}\n`);
    }
    if (query.get("follow") !== "1") {
      res.end();
      return STREAMED;
    }
    const stop = new AbortController();
    req.socket.once("close", () => stop.abort());
    res.once("close", () => stop.abort());
    await Promise.all(
      sources.map((source) =>
        followFile(
          source.path,
          (found) => {
            for (const line of found) res.write(`${source.label}: ${line}\n`);
          },
          stop.signal,
        ).catch(() => undefined),
      ),
    );
    res.end();
    return STREAMED;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.authorized(req)) {
      replyError(
        res,
        new BatonError("BATON_UNAUTHORIZED", "missing or wrong API token", {
          hint: "the CLI reads the token from <home>/token; use the same --home as the server",
        }),
      );
      return;
    }
    await this.dispatch(req, res);
  }

  /** Answer a request whose caller is already known to hold the token (or a dashboard session). */
  async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? "/", "http://baton");
      for (const [method, pattern, handler] of this.routes) {
        const match = pattern.exec(url.pathname);
        if (match === null || method !== req.method) continue;
        const body = req.method === "GET" ? {} : await readJsonBody(req);
        const params = match.slice(1).map((p) => decodeURIComponent(p));
        if (req.method !== "GET") this.audit(req, url.pathname, body);
        const result = await handler({ params, body, query: url.searchParams, req, res });
        if (result !== STREAMED) replyJson(res, 200, result);
        return;
      }
      throw new BatonError("BATON_NOT_FOUND", `no API route ${req.method} ${url.pathname}`);
    } catch (error) {
      replyError(res, error);
    }
  }

  /**
   * The audit log: who asked for what change, and when, as events of kind `audit` (`baton audit`).
   * Who is what the caller says (X-Baton-Actor: the CLI's OS user and host; a git push adds its
   * pusher); the token is what authorised it. Request bodies stay out: they can hold config values.
   */
  private audit(req: IncomingMessage, path: string, body: Record<string, unknown>): void {
    const said = String(req.headers["x-baton-actor"] ?? "unknown").slice(0, 200);
    // Over the TCP API the caller's name is only what it says: the address it came from is added.
    const actor = "encrypted" in req.socket ? `${said} via ${req.socket.remoteAddress ?? "?"}` : said;
    const app = /^\/v1\/apps\/([^/]+)/.exec(path)?.[1];
    const source = body.source as Record<string, unknown> | undefined;
    const pushedBy = typeof source?.pushedBy === "string" ? source.pushedBy : undefined;
    const action = `${req.method} ${path}`;
    // `record`, not `emit`: a change whose audit line cannot be stored (a full disk) is refused.
    this.plane.events.record(
      app === undefined ? "*" : decodeURIComponent(app),
      null,
      "audit",
      `${pushedBy === undefined ? actor : `${pushedBy} (git push, via ${actor})`}: ${action}`,
      { actor, action, ...(pushedBy === undefined ? {} : { pushedBy }) },
    );
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? "";
    return this.token.matches(header.startsWith("Bearer ") ? header.slice(7) : "");
  }
}

function duration(d: DeployRecord): number | null {
  return d.startedAt !== null && d.finishedAt !== null ? d.finishedAt - d.startedAt : null;
}

function deployRequest(body: Record<string, unknown>): Record<string, unknown> {
  const source = body.source as { dir?: unknown; ref?: unknown } | undefined;
  if (typeof source?.dir !== "string" || source.dir === "") {
    throw new BatonError("BATON_USAGE", "a deploy needs source.dir (the app's directory on the server's host)");
  }
  const problems: string[] = [];
  const pushed = pushedSource(source as Record<string, unknown>, problems);
  if (body.strategy !== undefined && !STRATEGIES.includes(body.strategy as string))
    problems.push(`strategy must be one of ${STRATEGIES.join(", ")}, got ${JSON.stringify(body.strategy)}`);
  const bakeMs = body.bakeMs;
  if (
    bakeMs !== undefined &&
    !(Number.isInteger(bakeMs) && (bakeMs as number) >= 0 && (bakeMs as number) <= 86_400_000)
  )
    problems.push(`bakeMs must be an integer from 0 to 86400000, got ${JSON.stringify(bakeMs)}`);
  if (problems.length > 0) throw new BatonError("BATON_USAGE", problems.join("; "));
  return {
    source: { dir: source.dir, ...(typeof source.ref === "string" ? { ref: source.ref } : {}), ...pushed },
    ...(typeof body.strategy === "string" ? { strategy: body.strategy } : {}),
    ...(typeof bakeMs === "number" ? { bakeMs } : {}),
  };
}

const STRATEGIES = ["preboot", "rolling", "canary"];

const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

function configRequest(body: Record<string, unknown>): Record<string, unknown> {
  const set = (body.set ?? {}) as Record<string, unknown>;
  const unset = (body.unset ?? []) as unknown[];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(set)) {
    if (!CONFIG_KEY.test(key)) problems.push(`"${key}" is not a valid config var name`);
    if (typeof value !== "string") problems.push(`${key}: the value must be a string`);
  }
  for (const key of unset)
    if (typeof key !== "string" || !CONFIG_KEY.test(key))
      problems.push(`"${String(key)}" is not a valid config var name`);
  if (Object.keys(set).length + unset.length === 0) problems.push("nothing to set or unset");
  if (problems.length > 0) throw new BatonError("BATON_USAGE", problems.join("; "));
  return { set, unset };
}
