/**
 * The Store: everything the control plane must remember across a crash. Apps, Releases, Deploys
 * with their Steps, Instances (pid and start time, so a restarted control plane can re-adopt them)
 * and events. The deploy layer talks to this interface only; src/store/sqlite.ts implements it.
 *
 * Times are milliseconds since the epoch. Versions are the numbers of "vN".
 */

export interface AppRecord {
  name: string;
  domains: string[];
  /** Catches requests whose Host matches no app. */
  isDefault: boolean;
  /** Version of the Release that serves traffic now; null before the first successful deploy. */
  currentVersion: number | null;
  /** Config vars set with `baton config:set`; copied into every new Release. */
  configVars: Record<string, string>;
  /** Maintenance mode (`baton maintenance:on`): the router answers 503 for the app; null when off. */
  maintenance: MaintenanceRecord | null;
  /** Set by `baton apps:lock`: new deploys, rollbacks and config changes are refused; null when unlocked. */
  lock: LockRecord | null;
  createdAt: number;
}

export interface MaintenanceRecord {
  /** Seconds sent in Retry-After. */
  retryAfterS: number;
  /** The custom page; the router's own page when absent. */
  html?: string;
  /** Where the custom page came from (its file name), for display. */
  page?: string;
  since: number;
  by: string;
}

export interface LockRecord {
  reason: string;
  by: string;
  at: number;
}

/** What createApp needs: maintenance and lock start off unless given. */
export type NewApp = Omit<AppRecord, "createdAt" | "maintenance" | "lock"> &
  Partial<Pick<AppRecord, "maintenance" | "lock">>;

/** pending: being staged or deployed; ready: built and proven once; failed: never served. */
export type ReleaseStatus = "pending" | "ready" | "failed";

export interface ReleaseRecord {
  app: string;
  version: number;
  status: ReleaseStatus;
  /** What it was made from: "dir /path/to/app", "rollback to v2", "config:set FOO", ... */
  source: string;
  /** The immutable release directory (code + build output). */
  path: string;
  /** Config vars frozen into this Release. */
  configVars: Record<string, string>;
  /** The ResolvedConfig (Procfile + app.json) as JSON, frozen at staging. */
  appConfig: unknown;
  createdAt: number;
  /** True once the release directory was removed by the keep-last-N clean-up. */
  pruned: boolean;
}

export type DeployKind = "deploy" | "rollback" | "config";
export type DeployStatus =
  | "queued"
  | "running"
  | "succeeded"
  | "failed"
  | "superseded"
  | "rolled_back"
  /** Stopped by `baton deploy:cancel` while queued, or before its switch (nothing changed for users). */
  | "cancelled";

export interface DeployError {
  code: string;
  message: string;
  hint?: string;
}

export interface DeployRecord {
  id: number;
  app: string;
  kind: DeployKind;
  status: DeployStatus;
  /** The Release being deployed; null while queued and not yet staged. */
  version: number | null;
  /** The Release that served when the deploy started. */
  fromVersion: number | null;
  /** The step the state machine is in (persisted before each step starts). */
  phase: string;
  /** The request as given (source dir, strategy, target version, config changes ...). */
  request: Record<string, unknown>;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: DeployError | null;
  /** Requests the router failed for this app during the deploy window. */
  failedRequests: number | null;
  /** Anything else worth keeping (superseded by, router counts, ...). */
  details: Record<string, unknown>;
}

export type StepStatus = "running" | "succeeded" | "failed" | "skipped";

export interface StepRecord {
  deployId: number;
  /** 1, 2, 3 ... in the order the steps started. */
  seq: number;
  name: string;
  status: StepStatus;
  startedAt: number;
  finishedAt: number | null;
  /** Captured output (build log, release command output), bounded by the writer. */
  output: string;
  details: Record<string, unknown>;
}

/** `standby`: an old release's web instance kept running, out of traffic, during the bake. */
export type InstanceState = "starting" | "running" | "standby" | "stopping" | "stopped" | "crashed";

export interface InstanceRecord {
  /** "<app>.<type>.v<version>.<index>", unique while the record exists. */
  id: string;
  app: string;
  version: number;
  type: string;
  /** 1-based, like Heroku's web.1. */
  index: number;
  pid: number;
  /** /proc start time of pid, so a recycled pid is never mistaken for the instance. */
  startTime: string;
  /** null for process types that do not listen. */
  port: number | null;
  state: InstanceState;
  logPath: string;
  startedAt: number;
  restarts: number;
  /** What is needed to restart it after a crash. */
  command: string;
  cwd: string;
}

export interface EventFilter {
  app?: string;
  deployId?: number;
  afterId?: number;
  limit?: number;
  /** Only these kinds. */
  kinds?: readonly string[];
  /** The last `limit` events (still oldest first) instead of the first. */
  newest?: boolean;
}

/** Where an app's deploy events are POSTed (src/deploy/webhooks.ts). */
export interface WebhookRecord {
  id: number;
  app: string;
  url: string;
  /** Signs each delivery (X-Baton-Signature); shown once, when the webhook is added. */
  secret: string;
  format: "json" | "slack";
  createdAt: number;
}

export interface EventRecord {
  id: number;
  app: string;
  deployId: number | null;
  time: number;
  /** "deploy.step.started", "instance.crashed", "instance.crash_loop", ... */
  kind: string;
  message: string;
  data: Record<string, unknown>;
}

export interface Store {
  createApp(app: NewApp): AppRecord;
  getApp(name: string): AppRecord | undefined;
  listApps(): AppRecord[];
  updateApp(name: string, patch: Partial<Omit<AppRecord, "name" | "createdAt">>): AppRecord;
  /**
   * Forget an app: its row and every row that belongs to it (releases, deploys and their steps,
   * instances, events), in one transaction. A no-op for an app that does not exist.
   */
  deleteApp(name: string): void;

  addWebhook(hook: Omit<WebhookRecord, "id" | "createdAt">): WebhookRecord;
  listWebhooks(app?: string): WebhookRecord[];
  /** False when there was no such webhook. */
  removeWebhook(app: string, id: number): boolean;

  /** Allocates the next version (max + 1, never reused even after pruning) atomically. */
  createRelease(release: Omit<ReleaseRecord, "version" | "createdAt" | "pruned">): ReleaseRecord;
  getRelease(app: string, version: number): ReleaseRecord | undefined;
  /** Newest first. */
  listReleases(app: string): ReleaseRecord[];
  updateRelease(
    app: string,
    version: number,
    patch: Partial<Pick<ReleaseRecord, "status" | "pruned" | "appConfig" | "path" | "source" | "configVars">>,
  ): ReleaseRecord;

  createDeploy(
    deploy: Pick<DeployRecord, "app" | "kind" | "request"> & Partial<Pick<DeployRecord, "fromVersion" | "version">>,
  ): DeployRecord;
  getDeploy(id: number): DeployRecord | undefined;
  /** Newest first; filtered by status when given. */
  listDeploys(filter?: { app?: string; statuses?: DeployStatus[]; limit?: number }): DeployRecord[];
  updateDeploy(id: number, patch: Partial<Omit<DeployRecord, "id" | "app" | "kind" | "createdAt">>): DeployRecord;

  startStep(deployId: number, name: string): StepRecord;
  finishStep(
    deployId: number,
    seq: number,
    result: { status: Exclude<StepStatus, "running">; output?: string; details?: Record<string, unknown> },
  ): StepRecord;
  listSteps(deployId: number): StepRecord[];

  /** Insert or replace by id. */
  putInstance(instance: InstanceRecord): void;
  updateInstance(id: string, patch: Partial<Omit<InstanceRecord, "id" | "app">>): InstanceRecord;
  getInstance(id: string): InstanceRecord | undefined;
  listInstances(filter?: { app?: string; states?: InstanceState[] }): InstanceRecord[];
  deleteInstance(id: string): void;

  addEvent(event: Omit<EventRecord, "id" | "time"> & { time?: number }): EventRecord;
  /** Oldest first, after `afterId` when given. */
  listEvents(filter: EventFilter): EventRecord[];

  /** Run `fn` in one transaction (all or nothing). */
  transaction<T>(fn: () => T): T;
  close(): void;
}
