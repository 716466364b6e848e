import type { DeployRecord, Store } from "../store/store.js";
import type { EventLog } from "./events.js";

/**
 * Deploys of one app run one at a time. While one runs, new ones wait; when it ends, only the
 * newest waiting deploy runs and the older ones are marked superseded (a team pushing ten times
 * during one deploy wants the last push live, not ten deploys in a row).
 */
export class DeployQueue {
  private readonly running = new Map<string, Promise<void>>();
  private readonly waiters = new Map<number, Array<(deploy: DeployRecord) => void>>();

  constructor(
    private readonly store: Store,
    private readonly events: EventLog,
    private readonly execute: (deploy: DeployRecord) => Promise<DeployRecord>,
  ) {}

  /** Start the app's next deploy unless one runs already. */
  kick(app: string): void {
    if (this.running.has(app)) return;
    const queued = this.store.listDeploys({ app, statuses: ["queued"] });
    const [newest, ...older] = queued;
    if (newest === undefined) return;
    for (const deploy of older) {
      const superseded = this.store.updateDeploy(deploy.id, {
        status: "superseded",
        phase: "superseded",
        finishedAt: Date.now(),
        details: { ...deploy.details, supersededBy: newest.id },
      });
      this.events.emit(app, deploy.id, "deploy.superseded", `deploy ${deploy.id} superseded by ${newest.id}`, {
        supersededBy: newest.id,
      });
      this.settle(superseded);
    }
    const run = this.execute(newest)
      .then(
        (finished) => this.settle(finished),
        (error) => this.settle(this.recordFailure(newest, error)),
      )
      .finally(() => {
        this.running.delete(app);
        try {
          this.kick(app);
        } catch {
          // The store cannot be written (a full disk): what is queued starts at the next kick
          // (the next deploy of the app, or the server's start).
        }
      });
    this.running.set(app, run);
  }

  /** A queued deploy that will not run: recorded as cancelled, its followers told. False if it is not queued. */
  cancelQueued(id: number, by: string): boolean {
    const deploy = this.store.getDeploy(id);
    if (deploy === undefined || deploy.status !== "queued") return false;
    const cancelled = this.store.updateDeploy(id, {
      status: "cancelled",
      phase: "cancelled",
      finishedAt: Date.now(),
      error: { code: "BATON_DEPLOY_CANCELLED", message: `${by} cancelled the deploy while it was queued` },
    });
    this.events.emit(deploy.app, id, "deploy.cancelled", `deploy ${id} cancelled by ${by} while queued`, { by });
    this.settle(cancelled);
    return true;
  }

  /** Resolves with the deploy once it has finished (succeeded, failed, superseded ...). */
  whenFinished(id: number): Promise<DeployRecord> {
    const deploy = this.store.getDeploy(id);
    if (deploy !== undefined && !["queued", "running"].includes(deploy.status)) return Promise.resolve(deploy);
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
  }

  /** Resolves once every running deploy has ended. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /**
   * The pipeline could not record its own end (the store's disk is full even after the failed
   * release was removed): record it here, and if that fails too, tell the waiters anyway, so the
   * person who deployed sees the real error rather than a deploy forever "running". The stored
   * record stays "running" until space is back, when the server's next start resolves it.
   */
  private recordFailure(deploy: DeployRecord, error: unknown): DeployRecord {
    const failure = error as { code?: unknown; message?: unknown; hint?: unknown };
    const patch = {
      status: "failed" as const,
      phase: "failed",
      finishedAt: Date.now(),
      error: {
        code:
          typeof failure?.code === "string" && failure.code.startsWith("BATON_") ? failure.code : "BATON_DEPLOY_FAILED",
        message: String(failure?.message ?? error),
        ...(typeof failure?.hint === "string" ? { hint: failure.hint } : {}),
      },
    };
    try {
      return this.store.updateDeploy(deploy.id, patch);
    } catch {
      return { ...(this.safeGet(deploy.id) ?? deploy), ...patch };
    }
  }

  private safeGet(id: number): DeployRecord | undefined {
    try {
      return this.store.getDeploy(id);
    } catch {
      return undefined;
    }
  }

  private settle(deploy: DeployRecord): void {
    const list = this.waiters.get(deploy.id);
    this.waiters.delete(deploy.id);
    for (const resolve of list ?? []) resolve(deploy);
  }
}
