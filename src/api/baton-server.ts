import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { BatonError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { memoryReport, watchMemory } from "../core/memory.js";
import { waitFor } from "../core/wait.js";
import { prepareHomeForAppUser } from "../deploy/app-user-home.js";
import { ControlPlane } from "../deploy/control-plane.js";
import { serverPaths } from "../deploy/paths.js";
import type { RecoveryReport } from "../deploy/recovery.js";
import { ensureRouter, type RouterHandle } from "../deploy/router-process.js";
import { routerDriver } from "../deploy/traffic.js";
import { Metrics } from "../observe/metrics.js";
import { TrafficSampler } from "../observe/traffic.js";
import { SqliteStore } from "../store/sqlite.js";
import { LogRotation } from "../supervisor/log-rotation.js";
import { pidAlive } from "../supervisor/process-info.js";
import type { AppUser } from "../supervisor/run-as.js";
import type { ApiTls } from "./api-tls.js";
import { ApiClient } from "./client.js";
import { GitHttpServer } from "./git-http.js";
import { ServerApi } from "./server-api.js";
import { ServerToken } from "./token.js";
import { WebServer } from "./web-server.js";

/** 64 MB per log, and as much again for its one rotated copy. */
export const DEFAULT_LOG_MAX_BYTES = 64 * 1024 * 1024;

export interface BatonServerOptions {
  home: string;
  port: number;
  host: string;
  /** `--git-port`: also take git pushes over HTTP on this port (0: any free one); off when undefined. */
  gitPort?: number;
  gitHost?: string;
  /** `--http-port`: the dashboard and /metrics on this port (0: any free one); off when undefined. */
  httpPort?: number;
  httpHost?: string;
  /** `--access-log`: a router started here logs every request to `<home>/access.log`. */
  accessLog?: boolean;
  /** `--trusted-proxy`: peers whose X-Forwarded-* headers a router started here keeps. */
  trustedProxies?: string[];
  /** `--api-port`: the API over TLS on TCP too (0: any free one); off when undefined. */
  apiPort?: number;
  apiHost?: string;
  apiTls?: ApiTls;
  /** `--https-port` and `--tls-dir`: a router started here also serves HTTPS with these certificates. */
  tls?: { httpsPort: number; tlsDir: string };
  /** `--log-max-mb`: each log (instances', router's, access, server's) is rotated past this size. */
  logMaxBytes?: number;
  /** `--user`: every process of every app runs as this user (baton runs as root). */
  appUser?: AppUser | undefined;
  log: Logger;
}

/**
 * `baton server` assembled: the store, the router (found or started), the control plane with its
 * recovery, and the API. Stopping it (close) leaves the router and the instances serving;
 * shutdown stops them too.
 */
export class BatonServer {
  private api: ServerApi | undefined;
  private plane: ControlPlane | undefined;
  private store: SqliteStore | undefined;
  private git: GitHttpServer | undefined;
  private web: WebServer | undefined;
  private traffic: TrafficSampler | undefined;
  private metrics: Metrics | undefined;
  private logRotation: LogRotation | undefined;
  router: RouterHandle | undefined;
  recovery: RecoveryReport | undefined;
  private closed = false;
  /** Settles when the server has stopped, whoever stopped it. */
  readonly done: Promise<void>;
  private markDone!: () => void;

  constructor(private readonly opts: BatonServerOptions) {
    this.done = new Promise((resolve) => {
      this.markDone = resolve;
    });
  }

  async start(): Promise<void> {
    watchMemory();
    const { home, log } = this.opts;
    const paths = serverPaths(home);
    if (
      existsSync(paths.token) &&
      (await ApiClient.local(home)
        .get("/v1/health", 2_000)
        .catch(() => undefined)) !== undefined
    ) {
      throw new BatonError("BATON_USAGE", `a baton server already runs for ${home}`, {
        hint: "stop it with `baton shutdown --keep-running`, or use another --home",
      });
    }
    const token = ServerToken.ensure(paths.token);
    if (this.opts.gitPort !== undefined) await this.listenGit(token);
    this.store = SqliteStore.open(paths.store);
    const { appUser } = this.opts;
    // Before anything can spawn an app process (recovery restarts instances).
    if (appUser !== undefined) {
      try {
        await prepareHomeForAppUser(home, this.store, appUser, log);
      } catch (error) {
        // Nothing of the apps has been touched; the router and the instances serve on.
        await this.close();
        throw error;
      }
    }
    this.router = await ensureRouter({
      home,
      port: this.opts.port,
      host: this.opts.host,
      accessLog: this.opts.accessLog === true ? paths.accessLog : undefined,
      trustedProxies: this.opts.trustedProxies,
      tls: this.opts.tls,
      log,
    });
    this.plane = new ControlPlane({
      store: this.store,
      traffic: routerDriver(this.router.client, { host: this.router.host, port: this.router.port }),
      home,
      log,
      appUser,
    });
    this.traffic = new TrafficSampler(this.router.client);
    this.metrics = new Metrics(this.router.client, this.store, this.plane.events);
    this.recovery = await this.plane.start();
    this.traffic.start();
    this.logRotation = new LogRotation(() => this.logPaths(), this.opts.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES, log);
    this.logRotation.start();
    const started = Date.now();
    this.api = new ServerApi(
      this.plane,
      token,
      () => ({
        pid: process.pid,
        home,
        routerPort: this.router?.port,
        routerHttpsPort: this.router?.httpsPort ?? null,
        routerPid: this.router?.pid,
        uptimeMs: Date.now() - started,
        // For bench/soak's memory-growth check (src/core/memory.ts says why the heap after GC).
        memory: memoryReport(),
        ...this.gitAddress(),
        ...this.httpAddress(),
        ...this.apiAddress(),
      }),
      (keepRunning) => void this.shutdown(keepRunning),
      this.traffic,
      () => this.restartRouter(),
      async () => {
        const router = this.router;
        if (router === undefined) throw new BatonError("BATON_ROUTER_UNREACHABLE", "the server has no router");
        return router.client.tlsReload();
      },
    );
    if (this.opts.httpPort !== undefined) await this.listenHttp(token, this.api);
    if (this.opts.apiPort !== undefined) await this.listenApiTls(this.api);
    await this.api.listen(paths.socket);
    writeFileSync(paths.pid, `${process.pid}\n`, { mode: 0o600 });
  }

  /** Where git pushes over HTTP go, for health and `baton apps:create`: nulls when the port is off. */
  gitAddress(): { gitHost: string | null; gitPort: number | null } {
    const port = this.git?.port;
    return port === undefined
      ? { gitHost: null, gitPort: null }
      : { gitHost: this.opts.gitHost ?? "127.0.0.1", gitPort: port };
  }

  /** The router restarts in place (its successor takes the listening socket); the handle follows. */
  private async restartRouter(): Promise<{ previousPid: number; pid: number }> {
    const router = this.router;
    if (router === undefined) throw new BatonError("BATON_ROUTER_UNREACHABLE", "the server has no router");
    const previousPid = router.pid;
    const { pid } = await router.client.handOff();
    this.router = { ...router, pid, started: true };
    this.opts.log.info("router restarted in place", { previousPid, pid });
    return { previousPid, pid };
  }

  /** Every log file baton writes on this host, for rotation. */
  private *logPaths(): Iterable<string> {
    const paths = serverPaths(this.opts.home);
    yield paths.serverLog;
    yield paths.routerLog;
    yield paths.accessLog;
    const { plane, store } = this;
    if (plane === undefined || store === undefined) return;
    for (const app of store.listApps()) for (const instance of plane.ps(app.name)) yield instance.logPath;
  }

  /** Where the dashboard and /metrics are, for health and `baton server`: nulls when the port is off. */
  httpAddress(): { httpHost: string | null; httpPort: number | null } {
    const port = this.web?.port;
    return port === undefined
      ? { httpHost: null, httpPort: null }
      : { httpHost: this.opts.httpHost ?? "127.0.0.1", httpPort: port };
  }

  /** Where the TLS API is, for health and `baton server`: nulls when the port is off. */
  apiAddress(): { apiHost: string | null; apiPort: number | null } {
    const port = this.api?.tlsPort;
    return port === undefined
      ? { apiHost: null, apiPort: null }
      : { apiHost: this.opts.apiHost ?? "127.0.0.1", apiPort: port };
  }

  private async listenApiTls(api: ServerApi): Promise<void> {
    const host = this.opts.apiHost ?? "127.0.0.1";
    const tls = this.opts.apiTls;
    if (tls === undefined) throw new BatonError("BATON_USAGE", "--api-port needs --api-cert and --api-key");
    try {
      await api.listenTls(this.opts.apiPort ?? 0, host, tls, "--api-port");
    } catch (error) {
      await this.close();
      if (error instanceof BatonError) throw error;
      throw new BatonError(
        "BATON_USAGE",
        `cannot serve the API on ${host}:${this.opts.apiPort}: ${(error as Error).message}`,
        {
          cause: error,
          hint: "choose another --api-port, or leave it out",
        },
      );
    }
  }

  private async listenHttp(token: ServerToken, api: ServerApi): Promise<void> {
    const host = this.opts.httpHost ?? "127.0.0.1";
    const web = new WebServer({
      token,
      api,
      metrics: this.metrics as Metrics,
      events: (this.plane as ControlPlane).events,
      traffic: this.traffic as TrafficSampler,
      log: this.opts.log,
    });
    try {
      await web.listen(this.opts.httpPort ?? 0, host, "--http-port");
    } catch (error) {
      // The router and the instances serve on; this server never started.
      await this.close();
      if (error instanceof BatonError) throw error;
      throw new BatonError(
        "BATON_USAGE",
        `cannot serve the dashboard on ${host}:${this.opts.httpPort}: ${(error as Error).message}`,
        {
          cause: error,
          hint: "choose another --http-port, or leave it out",
        },
      );
    }
    this.web = web;
  }

  /** First of all, so that a port in use stops the start before anything else has begun. */
  private async listenGit(token: ServerToken): Promise<void> {
    const host = this.opts.gitHost ?? "127.0.0.1";
    const git = new GitHttpServer({
      home: this.opts.home,
      token,
      hasApp: (name) => this.store?.getApp(name) !== undefined,
      log: this.opts.log,
    });
    try {
      await git.listen(this.opts.gitPort ?? 0, host, "--git-port");
    } catch (error) {
      if (error instanceof BatonError) throw error;
      throw new BatonError(
        "BATON_USAGE",
        `cannot take git pushes on ${host}:${this.opts.gitPort}: ${(error as Error).message}`,
        {
          cause: error,
          hint: "choose another --git-port, or leave it out to push over SSH only",
        },
      );
    }
    this.git = git;
  }

  /** Stop the control plane only; the router and every instance keep serving. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.api?.close();
    await this.web?.close();
    this.traffic?.stop();
    this.metrics?.close();
    this.logRotation?.stop();
    await this.git?.close();
    this.plane?.detach();
    this.store?.close();
    removeIfOurs(serverPaths(this.opts.home).pid);
    this.markDone();
  }

  /** `baton shutdown`: stop the instances and the router too (unless keepRunning). */
  async shutdown(keepRunning: boolean): Promise<void> {
    if (!keepRunning) {
      const stopped = (await this.plane?.stopAll()) ?? 0;
      this.opts.log.info("instances stopped", { stopped });
      const pid = this.router?.pid;
      if (pid !== undefined) {
        try {
          process.kill(pid, "SIGTERM");
          await waitFor("the router to exit", () => (pidAlive(pid) ? undefined : true), { timeoutMs: 15_000 });
        } catch {
          // Already gone, or it did not exit in time: either way the server goes on shutting down.
        }
      }
    }
    await this.close();
  }
}

function removeIfOurs(path: string): void {
  try {
    if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
  } catch {
    // Nothing to remove.
  }
}
