import cluster, { type Worker } from "node:cluster";
import { BatonError, errorFromJSON } from "../core/errors.js";
import { createLogger, type Logger } from "../core/log.js";
import { AdminApi } from "./admin.js";
import type { AppRouteSpec, MaintenanceSpec } from "./app-route.js";
import { CertificateSet } from "./certificates.js";
import type { DrainOptions, DrainReport } from "./drain.js";
import {
  LocalOps,
  type PoolDescription,
  type Prepared,
  type RouterOps,
  type TableDescription,
  type TlsDescription,
} from "./ops.js";
import { type RouterOptions, type RouterUserOptions, resolveRouterOptions } from "./options.js";
import type { PoolSpec } from "./pool.js";
import { Router } from "./router.js";
import { restoreTable, SnapshotWriter } from "./snapshot.js";
import { type AppStatsSnapshot, quantileFromBuckets, type ReleaseStatsSnapshot } from "./stats.js";
import { RoutingTable, type TableSnapshot } from "./table.js";

/*
 * The router as several processes: one primary that owns the admin API, the authoritative routing
 * table and its snapshot on disk, and N workers that each hold a copy of the table and proxy
 * traffic on the shared public port. Every admin operation is validated on the primary's table
 * first (so a bad request fails once, before any worker changed), then applied by every worker in
 * the same order. Counts and drain reports are gathered from the workers and added up.
 */

type OpName = keyof RouterOps | "restore" | "close";

interface OpMessage {
  baton: "op";
  id: number;
  op: OpName;
  args: unknown[];
}

interface ResultMessage {
  baton: "result";
  id: number;
  ok: boolean;
  value?: unknown;
  error?: unknown;
}

const OP_TIMEOUT_MS = 10_000;

class WorkerChannel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(readonly worker: Worker) {
    worker.on("message", (message: ResultMessage) => {
      if (message?.baton !== "result") return;
      const waiter = this.pending.get(message.id);
      if (waiter === undefined) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(errorFromJSON(message.error, "router worker refused the operation"));
    });
    worker.once("exit", () => {
      for (const waiter of this.pending.values()) {
        waiter.reject(new BatonError("BATON_ROUTER_UNREACHABLE", "a router worker exited during an operation"));
      }
      this.pending.clear();
    });
  }

  call(op: OpName, args: unknown[], timeoutMs = OP_TIMEOUT_MS): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BatonError("BATON_TIMEOUT", `router worker did not answer "${op}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.worker.send({ baton: "op", id, op, args } satisfies OpMessage);
    });
  }
}

export class ClusterOps implements RouterOps {
  private readonly local: LocalOps;

  constructor(
    private readonly table: RoutingTable,
    private readonly channels: () => WorkerChannel[],
  ) {
    this.local = new LocalOps(table);
  }

  private broadcast(op: OpName, args: unknown[], timeoutMs?: number): Promise<unknown[]> {
    return Promise.all(this.channels().map((c) => c.call(op, args, timeoutMs)));
  }

  async putApp(spec: AppRouteSpec): Promise<void> {
    await this.local.putApp(spec);
    await this.broadcast("putApp", [spec]);
  }

  async removeApp(name: string): Promise<PoolSpec[]> {
    const handedBack = await this.local.removeApp(name);
    await this.broadcast("removeApp", [name]);
    return handedBack;
  }

  async swap(name: string, pool: PoolSpec): Promise<{ active: PoolSpec; previous: PoolSpec | null }> {
    const result = await this.local.swap(name, pool);
    await this.broadcast("swap", [name, pool]);
    return result;
  }

  async prepare(name: string, pool: PoolSpec, warmupHost?: string): Promise<Prepared> {
    // The workers carry the traffic, so they open the connections and route the warm-up; the
    // primary routes nothing.
    const answers = (await this.broadcast(
      "prepare",
      warmupHost === undefined ? [name, pool] : [name, pool, warmupHost],
    )) as Prepared[];
    return {
      connections: answers.reduce((n, a) => n + a.connections, 0),
      warmupHost: answers[0]?.warmupHost ?? null,
    };
  }

  async unprepare(name: string): Promise<PoolSpec | null> {
    const answers = (await this.broadcast("unprepare", [name])) as Array<PoolSpec | null>;
    return answers.find((a) => a !== null) ?? null;
  }

  async setCanary(name: string, pool: PoolSpec | null, weight: number, sticky: boolean): Promise<PoolSpec | null> {
    const removed = await this.local.setCanary(name, pool, weight, sticky);
    await this.broadcast("setCanary", [name, pool, weight, sticky]);
    return removed;
  }

  async setPaused(name: string, paused: boolean): Promise<void> {
    await this.local.setPaused(name, paused);
    await this.broadcast("setPaused", [name, paused]);
  }

  async setMaintenance(name: string, maintenance: MaintenanceSpec): Promise<void> {
    await this.local.setMaintenance(name, maintenance);
    await this.broadcast("setMaintenance", [name, maintenance]);
  }

  async drain(poolId: string, options: DrainOptions): Promise<DrainReport> {
    const entry = this.table.handedBack.get(poolId);
    if (entry === undefined) return this.local.drain(poolId, options); // throws the NOT_FOUND error
    const timeoutMs = options.timeoutMs + options.streamCloseWindowMs + OP_TIMEOUT_MS;
    // A worker restarted after the hand-back never knew this Pool: it has nothing to drain.
    const reports = (await Promise.all(
      this.channels().map((c) =>
        c.call("drain", [poolId, options], timeoutMs).catch((error: BatonError) => {
          if (error.code === "BATON_ADMIN_NOT_FOUND") return undefined;
          throw error;
        }),
      ),
    )) as Array<DrainReport | undefined>;
    this.table.release(poolId);
    const sum = (key: "inFlightAtStart" | "streamsAtStart" | "requestsCut" | "streamsCut") =>
      reports.reduce((n, r) => n + (r?.[key] ?? 0), 0);
    return {
      pool: poolId,
      release: entry.pool.release,
      targets: entry.pool.targets.map((t) => t.id),
      inFlightAtStart: sum("inFlightAtStart"),
      streamsAtStart: sum("streamsAtStart"),
      requestsCut: sum("requestsCut"),
      streamsCut: sum("streamsCut"),
      durationMs: Math.max(0, ...reports.map((r) => r?.durationMs ?? 0)),
    };
  }

  async reloadTls(): Promise<TlsDescription> {
    // Each worker owns its HTTPS listener; they read the same directory, so their answers agree.
    const answers = (await this.broadcast("reloadTls", [])) as TlsDescription[];
    const first = answers[0];
    if (first === undefined) throw new BatonError("BATON_ROUTER_UNREACHABLE", "no router worker is running");
    return first;
  }

  async stats(): Promise<AppStatsSnapshot[]> {
    const perWorker = (await this.broadcast("stats", [])) as AppStatsSnapshot[][];
    return mergeStats(perWorker);
  }

  async describe(): Promise<TableDescription> {
    const mine = await this.local.describe();
    const theirs = (await this.broadcast("describe", [])) as TableDescription[];
    const live = new Map<string, { state: string; inFlight: number; streams: number; heldNow: number }>();
    for (const description of theirs) {
      for (const app of description.apps) {
        for (const pool of [app.active, app.canary?.pool, ...description.draining.map((d) => d.pool)]) {
          for (const t of pool?.targets ?? []) {
            const key = `${pool?.id}/${t.host}:${t.port}`;
            const seen = live.get(key) ?? { state: "ready", inFlight: 0, streams: 0, heldNow: 0 };
            // Ejection is decided by each worker; show it when any worker took the Target out.
            if (t.state !== "ready") seen.state = t.state;
            seen.inFlight += t.inFlight;
            seen.streams += t.streams;
            live.set(key, seen);
          }
        }
      }
    }
    const overlay = (pool: PoolDescription | null | undefined): void => {
      for (const t of pool?.targets ?? []) {
        const seen = live.get(`${pool?.id}/${t.host}:${t.port}`);
        if (seen !== undefined) Object.assign(t, { state: seen.state, inFlight: seen.inFlight, streams: seen.streams });
      }
    };
    for (const app of mine.apps) {
      // Only the workers prepare (they carry the traffic): show the first one's.
      app.prepared = theirs[0]?.apps.find((a) => a.name === app.name)?.prepared ?? null;
      overlay(app.active);
      overlay(app.canary?.pool);
      app.heldNow = theirs.reduce((n, d) => n + (d.apps.find((a) => a.name === app.name)?.heldNow ?? 0), 0);
    }
    for (const d of mine.draining) overlay(d.pool);
    return mine;
  }
}

function mergeStats(perWorker: AppStatsSnapshot[][]): AppStatsSnapshot[] {
  const apps = new Map<string, AppStatsSnapshot>();
  for (const snapshots of perWorker) {
    for (const s of snapshots) {
      const merged = apps.get(s.app);
      if (merged === undefined) {
        apps.set(s.app, structuredClone(s));
        continue;
      }
      merged.held += s.held;
      merged.heldNow += s.heldNow;
      merged.holdTimeouts += s.holdTimeouts;
      merged.queued += s.queued ?? 0;
      merged.notRouted += s.notRouted;
      for (const r of s.releases) {
        const into = merged.releases.find((m) => m.release === r.release);
        if (into === undefined) merged.releases.push(structuredClone(r));
        else addRelease(into, r);
      }
    }
  }
  for (const app of apps.values()) {
    for (const r of app.releases) {
      r.latency.p50Ms = quantileFromBuckets(r.latency.counts, 0.5);
      r.latency.p99Ms = quantileFromBuckets(r.latency.counts, 0.99);
    }
  }
  return [...apps.values()];
}

function addRelease(into: ReleaseStatsSnapshot, r: ReleaseStatsSnapshot): void {
  into.requests += r.requests;
  for (const key of Object.keys(into.statusClasses) as Array<keyof ReleaseStatsSnapshot["statusClasses"]>) {
    into.statusClasses[key] += r.statusClasses[key];
  }
  into.inFlight += r.inFlight;
  into.retries += r.retries;
  into.errors.connect += r.errors.connect;
  into.errors.reset += r.errors.reset;
  into.errors.timeout += r.errors.timeout;
  into.latency.sumMs += r.latency.sumMs;
  into.latency.counts = into.latency.counts.map((n, i) => n + (r.latency.counts[i] ?? 0));
}

/**
 * The primary of a router cluster: forks the workers, keeps them supplied with the table (a
 * worker that dies is replaced and given the current table), and serves the admin API.
 */
export class RouterPrimary {
  readonly options: RouterOptions;
  readonly table: RoutingTable;
  private readonly channels = new Map<Worker, WorkerChannel>();
  /** What the admin API asks of the cluster; SIGHUP reloads TLS through it too. */
  readonly ops: RouterOps;
  private readonly admin: AdminApi;
  private closing = false;
  private readonly startedAt = Date.now();

  constructor(
    userOptions: RouterUserOptions,
    private readonly workers: number,
    private readonly log: Logger = createLogger("router"),
  ) {
    this.options = resolveRouterOptions(userOptions);
    if (this.options.port === 0 || this.options.httpsPort === 0) {
      throw new BatonError(
        "BATON_CONFIG_INVALID",
        "a router with several workers needs a fixed --port (and --https-port)",
      );
    }
    const o = this.options;
    // Each worker loads the certificates itself; a bad file must stop the start here, with its
    // error, rather than make every worker die as it starts (and be restarted, and die again).
    if (o.tlsDir !== undefined) CertificateSet.load(o.tlsDir);
    // The resolved options carry every limit the table needs.
    this.table = new RoutingTable(o);
    const ops = new ClusterOps(this.table, () => [...this.channels.values()]);
    this.ops = ops;
    this.admin = new AdminApi(
      ops,
      this.options,
      () => ({
        pid: process.pid,
        uptimeMs: Date.now() - this.startedAt,
        host: this.options.host,
        port: this.options.port,
        httpsPort: this.options.httpsPort ?? null,
        workers: this.channels.size,
        apps: this.table.apps.size,
      }),
      () => this.flushed(),
    );
  }

  /** Resolves once the snapshot on disk has every routing change made so far. */
  private flushed: () => Promise<void> = async () => {};

  get port(): number {
    return this.options.port;
  }

  async listen(): Promise<void> {
    const path = this.options.statePath;
    restoreTable(this.table, path, this.log);
    const snapshot = new SnapshotWriter(this.table, path, this.log);
    this.table.onChange = () => snapshot.changed();
    this.flushed = () => snapshot.flushed();
    await Promise.all(Array.from({ length: this.workers }, () => this.fork()));
    if (this.options.adminSocket !== undefined) await this.admin.listen(this.options.adminSocket);
    this.log.info("router cluster listening", { port: this.port, workers: this.workers });
  }

  private async fork(): Promise<void> {
    const worker = cluster.fork({ BATON_ROUTER_WORKER: "1" });
    const channel = new WorkerChannel(worker);
    let failedToListen = false;
    worker.once("exit", (code, signal) => {
      this.channels.delete(worker);
      // A worker that could not listen (a taken --https-port) would fail again the same way.
      if (this.closing || failedToListen) return;
      this.log.error("router worker exited; starting a new one", { pid: worker.process.pid, code, signal });
      void this.fork().catch((error: unknown) =>
        this.log.error("could not restart a router worker", { error: String(error) }),
      );
    });
    // "online" comes before the worker's modules are loaded; wait for its own hello instead, or
    // the first message would reach a process that is not listening yet and be lost.
    await new Promise<void>((resolve) => {
      const onHello = (message: { baton?: string }): void => {
        if (message?.baton !== "hello") return;
        worker.off("message", onHello);
        resolve();
      };
      worker.on("message", onHello);
    });
    // The worker starts listening only once it holds the table, so it never answers 404 by mistake.
    try {
      await channel.call("restore", [this.table.snapshot()]);
    } catch (error) {
      failedToListen = true;
      worker.kill("SIGKILL");
      throw error;
    }
    this.channels.set(worker, channel);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.allSettled(
      [...this.channels.values()].map((c) => c.call("close", [], this.options.drainTimeoutMs + OP_TIMEOUT_MS)),
    );
    await this.admin.close();
  }
}

/** Body of a worker process: a Router without admin socket or snapshot, driven over IPC. */
export async function runRouterWorker(userOptions: RouterUserOptions): Promise<void> {
  const router = new Router({ ...userOptions, adminSocket: undefined, statePath: undefined });
  const ops = router.ops as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  // The primary decides when workers stop (a terminal's Ctrl-C reaches the whole group); a worker
  // whose primary dies exits on its own when the IPC channel closes (node:cluster does that).
  process.on("SIGINT", () => {});
  process.on("SIGTERM", () => {});
  // A TLS reload comes from the primary (SIGHUP there), never from a signal to the whole group.
  process.on("SIGHUP", () => {});
  await new Promise<void>((resolve) => {
    process.on("message", (message: OpMessage) => {
      if (message?.baton !== "op") return;
      const reply = (result: Omit<ResultMessage, "baton" | "id">): void => {
        process.send?.({ baton: "result", id: message.id, ...result } satisfies ResultMessage);
      };
      let work: Promise<unknown>;
      if (message.op === "restore") {
        work = (async () => {
          router.table.restore(message.args[0] as TableSnapshot);
          await router.listen();
        })();
      } else if (message.op === "close") {
        work = router.close().then(() => resolve());
      } else {
        const op = ops[message.op];
        work =
          op === undefined ? Promise.reject(new Error(`unknown op ${message.op}`)) : op.apply(router.ops, message.args);
      }
      work.then(
        (value) => reply({ ok: true, value: value ?? null }),
        (error: unknown) =>
          reply({
            ok: false,
            error: error instanceof BatonError ? error.toJSON() : { code: "BATON_USAGE", message: String(error) },
          }),
      );
    });
    process.send?.({ baton: "hello" });
  });
  process.exit(0);
}
