import type { Logger } from "../core/log.js";
import type { InstanceRegistry } from "./instances.js";
import type { TrafficDriver } from "./traffic.js";

/** How long the router may keep an instance out of rotation before it is replaced. */
export const UNRESPONSIVE_AFTER_MS = 10_000;
const CHECK_MS = 2_000;

/**
 * The control plane's half of surviving a hung instance. The router ejects a Target that refuses
 * connections or does not answer in time and lets it back once its active check passes; a process
 * that keeps its socket but never answers (deadlocked, stuck in a loop, stopped) never passes, so
 * it would sit out of rotation for good, one instance short. Every CHECK_MS this reads the
 * router's table; a Target ejected for `afterMs` whose instance is still alive is killed, and its
 * CrashKeeper restarts it on the same port (with the usual backoff and crash-loop report).
 */
export class UnresponsiveWatch {
  /** "app host:port" → when it was first seen ejected. */
  private readonly ejectedSince = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly traffic: TrafficDriver,
    private readonly instances: InstanceRegistry,
    private readonly log: Logger,
    private readonly afterMs = UNRESPONSIVE_AFTER_MS,
    private readonly intervalMs = CHECK_MS,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  async check(now = Date.now()): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const table = await this.traffic.table();
      const seen = new Set<string>();
      for (const app of table.apps) {
        for (const pool of [app.active, app.canary?.pool]) {
          for (const target of pool?.targets ?? []) {
            if (target.state !== "ejected") continue;
            const key = `${app.name} ${target.host}:${target.port}`;
            seen.add(key);
            const since = this.ejectedSince.get(key) ?? now;
            this.ejectedSince.set(key, since);
            if (now - since < this.afterMs) continue;
            // Replaced: the clock starts again for the new process.
            if (this.instances.replaceUnresponsive(app.name, target.port, now - since)) this.ejectedSince.delete(key);
          }
        }
      }
      for (const key of this.ejectedSince.keys()) if (!seen.has(key)) this.ejectedSince.delete(key);
    } catch (error) {
      // The router restarting, say: nothing to judge this time.
      this.log.debug("unresponsive-instance check skipped", { error: (error as Error).message });
    } finally {
      this.checking = false;
    }
  }
}
