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
        () => this.settle(this.store.getDeploy(newest.id) ?? newest),
      )
      .finally(() => {
        this.running.delete(app);
        this.kick(app);
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

  private settle(deploy: DeployRecord): void {
    const list = this.waiters.get(deploy.id);
    this.waiters.delete(deploy.id);
    for (const resolve of list ?? []) resolve(deploy);
  }
}
