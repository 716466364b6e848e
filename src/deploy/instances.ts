import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DEFAULTS, type ResolvedConfig } from "../config/resolve.js";
import { isDiskFull } from "../core/disk-full.js";
import type { Logger } from "../core/log.js";
import type { InstanceRecord, Store } from "../store/store.js";
import { Instance, type InstanceSpec } from "../supervisor/instance.js";
import { freePort } from "../supervisor/ports.js";
import { reniceGroup } from "../supervisor/priority.js";
import { CrashKeeper } from "../supervisor/restart.js";
import type { AppUser } from "../supervisor/run-as.js";
import type { EventLog } from "./events.js";
import { appPaths, releaseName } from "./paths.js";

export interface StartRequest {
  app: string;
  version: number;
  type: string;
  index: number;
  command: string;
  cwd: string;
  /** Restarts so far, when this replaces an instance that died. */
  restarts?: number;
  /** Reuse this port (a restart keeps the router's Target valid); a free one otherwise. */
  port?: number | undefined;
}

/** Builds an instance's environment (config vars, PORT, DYNO ...) from the store, so a restart after a crash or a control-plane restart gets the same one. */
export type EnvFor = (record: Pick<InstanceRecord, "app" | "version" | "type" | "index">) => Record<string, string>;

interface Live {
  record: InstanceRecord;
  instance: Instance;
  keeper: CrashKeeper | undefined;
}

/**
 * The control plane's view of every Instance it runs: the OS process (spawned or re-adopted) and
 * its record in the store, kept in step. Instances outlive the control plane (own process group,
 * logs to files); their pid and start time let the next control plane adopt them.
 */
export class InstanceRegistry {
  private readonly live = new Map<string, Live>();

  constructor(
    private readonly store: Store,
    private readonly events: EventLog,
    private readonly home: string,
    private readonly envFor: EnvFor,
    private readonly log: Logger,
    /** `baton server --user`: every instance spawned (or restarted) here runs as this user. */
    private readonly appUser?: AppUser,
  ) {}

  async start(req: StartRequest): Promise<InstanceRecord> {
    const port = req.port ?? (await freePort());
    const id = `${req.app}.${req.type}.${releaseName(req.version)}.${req.index}`;
    const logPath = appPaths(this.home, req.app).instanceLog(req.type, req.version, req.index);
    mkdirSync(dirname(logPath), { recursive: true, mode: 0o700 });
    const instance = new Instance(this.spec({ ...req, port, logPath }));
    // Recorded in the same tick as the spawn: a control plane that dies right after still leaves
    // a record its successor can find, so no instance is ever orphaned unrecorded.
    const record: InstanceRecord = {
      id,
      app: req.app,
      version: req.version,
      type: req.type,
      index: req.index,
      pid: instance.pid,
      startTime: instance.startTime,
      port,
      state: "starting",
      logPath,
      startedAt: Date.now(),
      restarts: req.restarts ?? 0,
      command: req.command,
      cwd: req.cwd,
    };
    this.store.putInstance(record);
    this.live.set(id, { record, instance, keeper: undefined });
    return record;
  }

  /** The OS process behind a record, while it is known to run. */
  instance(id: string): Instance | undefined {
    return this.live.get(id)?.instance;
  }

  markRunning(id: string): void {
    this.update(id, { state: "running" });
  }

  /** Out of traffic but kept running (and restarted on a crash), so a rollback needs no boot. */
  markStandby(id: string): void {
    this.update(id, { state: "standby" });
  }

  /**
   * From now on a crash restarts the instance (same port, so the router's Target stays valid)
   * with backoff; a crash loop is reported as an event. Used once its Release serves.
   */
  keepAlive(id: string): void {
    const live = this.live.get(id);
    if (live === undefined || live.keeper !== undefined) return;
    const { app } = live.record;
    live.keeper = new CrashKeeper(live.instance, {
      onCrash: (_instance, info) => {
        this.update(id, { state: "crashed" });
        this.events.emit(app, null, "instance.crashed", `${id} exited (${info.signal ?? `code ${info.code}`})`, {
          instance: id,
          ...info,
        });
      },
      onRestart: (instance, attempt) => {
        const current = this.live.get(id);
        if (current === undefined) return;
        current.instance = instance;
        this.update(id, {
          pid: instance.pid,
          startTime: instance.startTime,
          state: "running",
          restarts: current.record.restarts + 1,
          startedAt: Date.now(),
        });
        this.events.emit(app, null, "instance.restarted", `${id} restarted (attempt ${attempt})`, { instance: id });
      },
      onCrashLoop: (_instance, crashes) => {
        this.events.emit(app, null, "instance.crash_loop", `${id} is crash-looping (${crashes} crashes)`, {
          instance: id,
          crashes,
        });
      },
    });
  }

  /**
   * An instance of a serving release that stopped answering (the router has kept it out of
   * rotation for `ejectedMs`): killed, so its CrashKeeper restarts it on its port. Only instances
   * under a keeper qualify; one being booted, drained or stopped is the pipeline's business.
   */
  replaceUnresponsive(app: string, port: number, ejectedMs: number): boolean {
    for (const [id, live] of this.live) {
      if (live.record.app !== app || live.record.port !== port || live.keeper === undefined) continue;
      if (live.record.state !== "running" && live.record.state !== "standby") return false;
      if (!live.instance.kill()) return false;
      this.log.warn("instance replaced: it stopped answering", { instance: id, ejectedMs });
      this.events.emit(
        app,
        null,
        "instance.unresponsive",
        `${id} did not answer for ${Math.round(ejectedMs / 1000)} s: killed, to be restarted`,
        { instance: id, ejectedMs },
      );
      return true;
    }
    return false;
  }

  /**
   * Stop one instance (SIGTERM to its group, SIGKILL after `stopMs`) and forget it. Without
   * `stopMs`, the stop timeout of the instance's own Release applies: an old release is stopped
   * the way its app.json asked, whatever the new one says.
   */
  async stop(id: string, stopMs?: number): Promise<{ killed: boolean; stopMs: number }> {
    const live = this.live.get(id);
    if (live === undefined) {
      this.store.deleteInstance(id);
      return { killed: false, stopMs: 0 };
    }
    const timeout = stopMs ?? this.stopTimeoutOf(live.record);
    live.keeper?.stop();
    // An instance being stopped has no users left (drained, or never switched to). Its shutdown
    // (closing sockets, tearing down the heap) then runs at the lowest priority, so it does not
    // take CPU from the instances that serve: every thread of its process group (V8's threads,
    // and the server itself under `web: npm start`). Threads that refuse keep their priority.
    // Only while it runs: the pid of one that exited may be another process group's by now.
    if (live.instance.alive()) reniceGroup(live.instance.pid, 19);
    this.update(id, { state: "stopping" });
    const result = await live.instance.stop(timeout);
    this.live.delete(id);
    this.store.deleteInstance(id);
    return { ...result, stopMs: timeout };
  }

  /**
   * Re-adopt every recorded instance whose process still runs (same pid and start time); forget
   * the rest. Returns what was found so the caller can restart what is missing.
   */
  adoptAll(): { adopted: InstanceRecord[]; lost: InstanceRecord[] } {
    const adopted: InstanceRecord[] = [];
    const lost: InstanceRecord[] = [];
    for (const record of this.store.listInstances()) {
      if (this.live.has(record.id)) continue;
      const spec = this.spec({ ...record, port: record.port ?? 0 });
      const instance = Instance.adopt(spec, record.pid, record.startTime);
      if (instance === undefined) {
        lost.push(record);
        this.store.deleteInstance(record.id);
        continue;
      }
      this.live.set(record.id, { record, instance, keeper: undefined });
      adopted.push(record);
    }
    if (adopted.length + lost.length > 0) {
      this.log.info("instances re-adopted", { adopted: adopted.length, lost: lost.length });
    }
    return { adopted, lost };
  }

  list(filter: { app?: string; version?: number; type?: string } = {}): InstanceRecord[] {
    const out: InstanceRecord[] = [];
    for (const { record } of this.live.values()) {
      if (filter.app !== undefined && record.app !== filter.app) continue;
      if (filter.version !== undefined && record.version !== filter.version) continue;
      if (filter.type !== undefined && record.type !== filter.type) continue;
      out.push(record);
    }
    return out.sort((a, b) => a.type.localeCompare(b.type) || a.version - b.version || a.index - b.index);
  }

  /** Stop watching (the control plane is exiting); the instances keep running. */
  release(): void {
    for (const live of this.live.values()) {
      live.keeper?.stop();
      live.instance.detach?.();
    }
    this.live.clear();
  }

  private stopTimeoutOf(record: InstanceRecord): number {
    const config = this.store.getRelease(record.app, record.version)?.appConfig as ResolvedConfig | null | undefined;
    return config?.timeouts.stopMs ?? DEFAULTS.stopMs;
  }

  private spec(r: Omit<StartRequest, "index"> & { index: number; port: number; logPath: string }): InstanceSpec {
    return {
      type: r.type,
      release: releaseName(r.version),
      command: r.command,
      cwd: r.cwd,
      env: this.envFor(r),
      port: r.port,
      logPath: r.logPath,
      user: this.appUser,
    };
  }

  private update(id: string, patch: Partial<InstanceRecord>): void {
    const live = this.live.get(id);
    if (live === undefined) return;
    live.record = { ...live.record, ...patch };
    try {
      // The whole record, not just the patch: a write lost to a full disk is made good by the next.
      const { id: _id, app: _app, ...whole } = live.record;
      this.store.updateInstance(id, whole);
    } catch (error) {
      // Called from the crash keeper's callbacks, where a throw would take the control plane down.
      // The instance is kept alive all the same; the stored record catches up at its next change.
      if (!isDiskFull(error)) throw error;
      this.log.warn("disk full: instance record not updated", { instance: id, error: (error as Error).message });
    }
  }
}
