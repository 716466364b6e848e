import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { orDiskFull } from "../core/disk-full.js";
import { BatonError } from "../core/errors.js";
import { migrate } from "./schema.js";
import type {
  AppRecord,
  DeployRecord,
  DeployStatus,
  EventFilter,
  EventRecord,
  InstanceRecord,
  InstanceState,
  NewApp,
  ReleaseRecord,
  StepRecord,
  StepStatus,
  Store,
  WebhookRecord,
} from "./store.js";

/** Stored step output is capped; the end of a build log says what went wrong, so the end is kept. */
export const STEP_OUTPUT_CAP = 64 * 1024;

type SqlValue = string | number | null;
/** Every statement binds one object of named parameters (`@column`). */
type Params = Record<string, SqlValue>;

/** How each field of a record is written: its column and its encoding. */
type Encoders<R> = { [K in keyof R]-?: readonly [column: string, encode: (value: R[K]) => SqlValue] };

const same = (value: SqlValue): SqlValue => value;
const bool = (value: boolean): number => (value ? 1 : 0);
// `?? null`: JSON.stringify(undefined) is undefined, which no TEXT NOT NULL column accepts.
const json = (value: unknown): string => JSON.stringify(value ?? null);
const jsonOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : json(value));

const APP: Encoders<AppRecord> = {
  name: ["name", same],
  domains: ["domains", json],
  isDefault: ["is_default", bool],
  currentVersion: ["current_version", same],
  configVars: ["config_vars", json],
  maintenance: ["maintenance", jsonOrNull],
  lock: ["lock", jsonOrNull],
  createdAt: ["created_at", same],
};

const RELEASE: Encoders<ReleaseRecord> = {
  app: ["app", same],
  version: ["version", same],
  status: ["status", same],
  source: ["source", same],
  path: ["path", same],
  configVars: ["config_vars", json],
  appConfig: ["app_config", json],
  createdAt: ["created_at", same],
  pruned: ["pruned", bool],
};

const DEPLOY: Encoders<DeployRecord> = {
  id: ["id", same],
  app: ["app", same],
  kind: ["kind", same],
  status: ["status", same],
  version: ["version", same],
  fromVersion: ["from_version", same],
  phase: ["phase", same],
  request: ["request", json],
  createdAt: ["created_at", same],
  startedAt: ["started_at", same],
  finishedAt: ["finished_at", same],
  error: ["error", jsonOrNull],
  failedRequests: ["failed_requests", same],
  details: ["details", json],
};

const STEP: Encoders<StepRecord> = {
  deployId: ["deploy_id", same],
  seq: ["seq", same],
  name: ["name", same],
  status: ["status", same],
  startedAt: ["started_at", same],
  finishedAt: ["finished_at", same],
  output: ["output", same],
  details: ["details", json],
};

const INSTANCE: Encoders<InstanceRecord> = {
  id: ["id", same],
  app: ["app", same],
  version: ["version", same],
  type: ["type", same],
  index: ["instance_index", same],
  pid: ["pid", same],
  startTime: ["start_time", same],
  port: ["port", same],
  state: ["state", same],
  logPath: ["log_path", same],
  startedAt: ["started_at", same],
  restarts: ["restarts", same],
  command: ["command", same],
  cwd: ["cwd", same],
};

const EVENT: Encoders<EventRecord> = {
  id: ["id", same],
  app: ["app", same],
  deployId: ["deploy_id", same],
  time: ["time", same],
  kind: ["kind", same],
  message: ["message", same],
  data: ["data", json],
};

/** Named parameters for the fields of `values` that are not undefined (a patch leaves those alone). */
function encode<R>(encoders: Encoders<R>, values: Partial<R>): Params {
  const params: Params = {};
  for (const key of Object.keys(encoders) as (keyof R)[]) {
    const value = values[key];
    if (value === undefined) continue;
    const [column, write] = encoders[key] as readonly [string, (value: unknown) => SqlValue];
    params[column] = write(value);
  }
  return params;
}

interface AppRow {
  name: string;
  domains: string;
  is_default: number;
  current_version: number | null;
  config_vars: string;
  maintenance: string | null;
  lock: string | null;
  created_at: number;
}

interface ReleaseRow {
  app: string;
  version: number;
  status: string;
  source: string;
  path: string;
  config_vars: string;
  app_config: string;
  created_at: number;
  pruned: number;
}

interface DeployRow {
  id: number;
  app: string;
  kind: string;
  status: string;
  version: number | null;
  from_version: number | null;
  phase: string;
  request: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
  failed_requests: number | null;
  details: string;
}

interface StepRow {
  deploy_id: number;
  seq: number;
  name: string;
  status: string;
  started_at: number;
  finished_at: number | null;
  output: string;
  details: string;
}

interface InstanceRow {
  id: string;
  app: string;
  version: number;
  type: string;
  instance_index: number;
  pid: number;
  start_time: string;
  port: number | null;
  state: string;
  log_path: string;
  started_at: number;
  restarts: number;
  command: string;
  cwd: string;
}

interface EventRow {
  id: number;
  app: string;
  deploy_id: number | null;
  time: number;
  kind: string;
  message: string;
  data: string;
}

/** Parse a JSON column; a value that does not parse was written by something other than baton. */
function parseJson<T>(text: string, where: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new BatonError("BATON_STATE_CORRUPT", `${where} in the store is not valid JSON`, {
      cause,
      hint: "The store was changed outside baton; restore it from a backup.",
    });
  }
}

function appFromRow(row: AppRow): AppRecord {
  const where = `app ${row.name}`;
  return {
    name: row.name,
    domains: parseJson(row.domains, `domains of ${where}`),
    isDefault: row.is_default === 1,
    currentVersion: row.current_version,
    configVars: parseJson(row.config_vars, `config vars of ${where}`),
    maintenance: row.maintenance === null ? null : parseJson(row.maintenance, `maintenance of ${where}`),
    lock: row.lock === null ? null : parseJson(row.lock, `lock of ${where}`),
    createdAt: row.created_at,
  };
}

function releaseFromRow(row: ReleaseRow): ReleaseRecord {
  const where = `release v${row.version} of app ${row.app}`;
  return {
    app: row.app,
    version: row.version,
    status: row.status as ReleaseRecord["status"],
    source: row.source,
    path: row.path,
    configVars: parseJson(row.config_vars, `config vars of ${where}`),
    appConfig: parseJson(row.app_config, `app config of ${where}`),
    createdAt: row.created_at,
    pruned: row.pruned === 1,
  };
}

function deployFromRow(row: DeployRow): DeployRecord {
  const where = `deploy ${row.id}`;
  return {
    id: row.id,
    app: row.app,
    kind: row.kind as DeployRecord["kind"],
    status: row.status as DeployStatus,
    version: row.version,
    fromVersion: row.from_version,
    phase: row.phase,
    request: parseJson(row.request, `request of ${where}`),
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    error: row.error === null ? null : parseJson(row.error, `error of ${where}`),
    failedRequests: row.failed_requests,
    details: parseJson(row.details, `details of ${where}`),
  };
}

function stepFromRow(row: StepRow): StepRecord {
  return {
    deployId: row.deploy_id,
    seq: row.seq,
    name: row.name,
    status: row.status as StepStatus,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    output: row.output,
    details: parseJson(row.details, `details of step ${row.seq} of deploy ${row.deploy_id}`),
  };
}

function instanceFromRow(row: InstanceRow): InstanceRecord {
  return {
    id: row.id,
    app: row.app,
    version: row.version,
    type: row.type,
    index: row.instance_index,
    pid: row.pid,
    startTime: row.start_time,
    port: row.port,
    state: row.state as InstanceState,
    logPath: row.log_path,
    startedAt: row.started_at,
    restarts: row.restarts,
    command: row.command,
    cwd: row.cwd,
  };
}

function eventFromRow(row: EventRow): EventRecord {
  return {
    id: row.id,
    app: row.app,
    deployId: row.deploy_id,
    time: row.time,
    kind: row.kind,
    message: row.message,
    data: parseJson(row.data, `data of event ${row.id}`),
  };
}

/**
 * Keep the last `cap` bytes (UTF-8) of `output`, behind a "[... N bytes cut]" line; the result,
 * marker included, is at most `cap` bytes.
 */
export function capOutput(output: string, cap: number = STEP_OUTPUT_CAP): string {
  const bytes = Buffer.from(output, "utf8");
  if (bytes.length <= cap) return output;
  // Size the marker for the largest count it could show, so it never pushes the result over cap.
  const markerRoom = Buffer.byteLength(`[... ${bytes.length} bytes cut]\n`);
  let start = bytes.length - Math.max(0, cap - markerRoom);
  // Never start inside a multi-byte character (continuation bytes are 10xxxxxx).
  while (start < bytes.length && ((bytes[start] as number) & 0xc0) === 0x80) start++;
  return `[... ${start} bytes cut]\n${bytes.subarray(start).toString("utf8")}`;
}

function sqliteCode(error: unknown): string | undefined {
  return error instanceof Database.SqliteError ? error.code : undefined;
}

function notFound(what: string, details: Record<string, unknown>): BatonError {
  return new BatonError("BATON_NOT_FOUND", `${what} does not exist`, { details });
}

/** A foreign key failed: the parent row (app or deploy) the new row points at is missing. */
function orMissingParent(error: unknown, what: string, details: Record<string, unknown>): unknown {
  return sqliteCode(error) === "SQLITE_CONSTRAINT_FOREIGNKEY" ? notFound(what, details) : error;
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return -1; // SQLite: a negative LIMIT means none
  if (!Number.isInteger(limit) || limit < 0) {
    throw new BatonError("BATON_USAGE", `limit must be a whole number >= 0, got ${limit}`);
  }
  return limit;
}

function whereClause(conditions: string[]): string {
  return conditions.length === 0 ? "" : `WHERE ${conditions.join(" AND ")}`;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  /** Prepared once per distinct SQL text; updates build their SET list from the patch. */
  private readonly statements = new Map<string, Database.Statement<[Params], unknown>>();

  private constructor(
    db: Database.Database,
    /** The database file, named in a BATON_DISK_FULL error. */
    private readonly path: string,
  ) {
    this.db = db;
  }

  /**
   * Open (creating if needed) the store at `path`, or an in-memory one for ":memory:", and bring
   * its schema up to date.
   */
  static open(path: string): SqliteStore {
    if (path !== ":memory:" && path !== "") {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // Create the file ourselves: SQLite would make it 0644 (less umask), and it holds config vars.
      // SQLite gives the -wal and -shm files the database file's mode.
      closeSync(openSync(path, "a", 0o600));
    }
    const db = new Database(path);
    try {
      // busy_timeout first: switching to WAL needs a lock another process may hold for a moment.
      db.pragma("busy_timeout = 5000");
      db.pragma("journal_mode = WAL");
      // FULL: a commit is fsynced to the WAL, so a deploy recorded as done survives a power cut.
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      migrate(db);
    } catch (error) {
      db.close();
      const code = sqliteCode(error);
      if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") {
        throw new BatonError("BATON_STATE_CORRUPT", `store ${path} is not a readable SQLite database`, {
          cause: error,
          hint: "Restore it from a backup, or move it aside to start with an empty store (deploy history is lost).",
          details: { path },
        });
      }
      throw error;
    }
    return new SqliteStore(db, path);
  }

  private statement(sql: string): Database.Statement<[Params], unknown> {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<[Params], unknown>(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Every statement runs through here: SQLITE_FULL becomes BATON_DISK_FULL. SQLite rolls the
   * statement (or transaction) back, so the store keeps its last complete state and works again
   * once there is space; nothing needs repairing.
   */
  private mapped<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw orDiskFull(error, {
        path: this.path,
        doing: "writing the store",
        untouched: "the store kept its last complete state (SQLite rolled the write back)",
      });
    }
  }

  private get<Row>(sql: string, params: Params = {}): Row | undefined {
    return this.mapped(() => {
      const statement = this.statement(sql);
      // A write with RETURNING must run to its end: SQLite commits it (autocommit) when the
      // statement finishes, and better-sqlite3's get() stops at the first row and ignores what the
      // reset that follows reports. A failed commit (SQLITE_FULL) would be silently rolled back
      // while get() returned the row as if stored. all() steps to the end and throws it.
      return (statement.readonly ? statement.get(params) : statement.all(params)[0]) as Row | undefined;
    });
  }

  private all<Row>(sql: string, params: Params = {}): Row[] {
    return this.mapped(() => this.statement(sql).all(params) as Row[]);
  }

  private run(sql: string, params: Params): Database.RunResult {
    return this.mapped(() => this.statement(sql).run(params));
  }

  /** Set the columns in `patch` on the row matching `key`; the row after, or undefined if none. */
  private update<Row>(table: string, key: Params, patch: Params): Row | undefined {
    const where = Object.keys(key)
      .map((column) => `${column} = @${column}`)
      .join(" AND ");
    // Key columns are never patched (the Store types forbid it; this guards a cast).
    const columns = Object.keys(patch).filter((column) => !Object.hasOwn(key, column));
    if (columns.length === 0) return this.get<Row>(`SELECT * FROM ${table} WHERE ${where}`, key);
    const set = columns.map((column) => `${column} = @${column}`).join(", ");
    return this.get<Row>(`UPDATE ${table} SET ${set} WHERE ${where} RETURNING *`, { ...patch, ...key });
  }

  createApp(app: NewApp): AppRecord {
    try {
      const row = this.get<AppRow>(
        `INSERT INTO apps (name, domains, is_default, current_version, config_vars, maintenance, lock, created_at)
         VALUES (@name, @domains, @is_default, @current_version, @config_vars, @maintenance, @lock, @created_at)
         RETURNING *`,
        encode(APP, { maintenance: null, lock: null, ...app, createdAt: Date.now() }),
      );
      return appFromRow(row as AppRow);
    } catch (error) {
      if (sqliteCode(error) === "SQLITE_CONSTRAINT_PRIMARYKEY") {
        throw new BatonError("BATON_USAGE", `app "${app.name}" already exists`, {
          hint: "Choose another name, or deploy to the existing app.",
          details: { app: app.name },
        });
      }
      throw error;
    }
  }

  getApp(name: string): AppRecord | undefined {
    const row = this.get<AppRow>("SELECT * FROM apps WHERE name = @name", { name });
    return row === undefined ? undefined : appFromRow(row);
  }

  listApps(): AppRecord[] {
    return this.all<AppRow>("SELECT * FROM apps ORDER BY name").map(appFromRow);
  }

  updateApp(name: string, patch: Partial<Omit<AppRecord, "name" | "createdAt">>): AppRecord {
    const row = this.update<AppRow>("apps", { name }, encode(APP, patch));
    if (row === undefined) throw notFound(`app "${name}"`, { app: name });
    return appFromRow(row);
  }

  deleteApp(name: string): void {
    // Children before parents: steps point at deploys; releases, deploys and instances at the app.
    this.transaction(() => {
      const params = { app: name };
      this.run("DELETE FROM steps WHERE deploy_id IN (SELECT id FROM deploys WHERE app = @app)", params);
      for (const table of ["deploys", "releases", "instances", "events", "webhooks", "apps"]) {
        this.run(`DELETE FROM ${table} WHERE ${table === "apps" ? "name" : "app"} = @app`, params);
      }
    });
  }

  addWebhook(hook: Omit<WebhookRecord, "id" | "createdAt">): WebhookRecord {
    const row = this.get<WebhookRow>(
      `INSERT INTO webhooks (app, url, secret, format, created_at) VALUES (@app, @url, @secret, @format, @created_at)
       RETURNING *`,
      { app: hook.app, url: hook.url, secret: hook.secret, format: hook.format, created_at: Date.now() },
    );
    return webhookFromRow(row as WebhookRow);
  }

  listWebhooks(app?: string): WebhookRecord[] {
    return (
      app === undefined
        ? this.all<WebhookRow>("SELECT * FROM webhooks ORDER BY id")
        : this.all<WebhookRow>("SELECT * FROM webhooks WHERE app = @app ORDER BY id", { app })
    ).map(webhookFromRow);
  }

  removeWebhook(app: string, id: number): boolean {
    return this.run("DELETE FROM webhooks WHERE app = @app AND id = @id", { app, id }).changes > 0;
  }

  createRelease(release: Omit<ReleaseRecord, "version" | "createdAt" | "pruned">): ReleaseRecord {
    try {
      // One statement is one transaction: SQLite takes the write lock before the subquery reads
      // MAX(version), so two writers cannot both get the same number.
      const row = this.get<ReleaseRow>(
        `INSERT INTO releases (app, version, status, source, path, config_vars, app_config, created_at, pruned)
         VALUES (@app, (SELECT COALESCE(MAX(version), 0) + 1 FROM releases WHERE app = @app),
                 @status, @source, @path, @config_vars, @app_config, @created_at, @pruned)
         RETURNING *`,
        encode(RELEASE, { ...release, appConfig: release.appConfig ?? null, createdAt: Date.now(), pruned: false }),
      );
      return releaseFromRow(row as ReleaseRow);
    } catch (error) {
      throw orMissingParent(error, `app "${release.app}"`, { app: release.app });
    }
  }

  getRelease(app: string, version: number): ReleaseRecord | undefined {
    const row = this.get<ReleaseRow>("SELECT * FROM releases WHERE app = @app AND version = @version", {
      app,
      version,
    });
    return row === undefined ? undefined : releaseFromRow(row);
  }

  listReleases(app: string): ReleaseRecord[] {
    return this.all<ReleaseRow>("SELECT * FROM releases WHERE app = @app ORDER BY version DESC", { app }).map(
      releaseFromRow,
    );
  }

  updateRelease(
    app: string,
    version: number,
    patch: Partial<Pick<ReleaseRecord, "status" | "pruned" | "appConfig" | "path" | "source" | "configVars">>,
  ): ReleaseRecord {
    const row = this.update<ReleaseRow>("releases", { app, version }, encode(RELEASE, patch));
    if (row === undefined) throw notFound(`release v${version} of app "${app}"`, { app, version });
    return releaseFromRow(row);
  }

  createDeploy(
    deploy: Pick<DeployRecord, "app" | "kind" | "request"> & Partial<Pick<DeployRecord, "fromVersion" | "version">>,
  ): DeployRecord {
    const record: Omit<DeployRecord, "id"> = {
      app: deploy.app,
      kind: deploy.kind,
      status: "queued",
      version: deploy.version ?? null,
      fromVersion: deploy.fromVersion ?? null,
      phase: "queued",
      request: deploy.request,
      createdAt: Date.now(),
      startedAt: null,
      finishedAt: null,
      error: null,
      failedRequests: null,
      details: {},
    };
    const params = encode(DEPLOY, record);
    // encode() skips undefined, not null: the nullable columns are all present.
    try {
      const row = this.get<DeployRow>(
        `INSERT INTO deploys (app, kind, status, version, from_version, phase, request, created_at,
                              started_at, finished_at, error, failed_requests, details)
         VALUES (@app, @kind, @status, @version, @from_version, @phase, @request, @created_at,
                 @started_at, @finished_at, @error, @failed_requests, @details)
         RETURNING *`,
        params,
      );
      return deployFromRow(row as DeployRow);
    } catch (error) {
      throw orMissingParent(error, `app "${deploy.app}"`, { app: deploy.app });
    }
  }

  getDeploy(id: number): DeployRecord | undefined {
    const row = this.get<DeployRow>("SELECT * FROM deploys WHERE id = @id", { id });
    return row === undefined ? undefined : deployFromRow(row);
  }

  listDeploys(filter: { app?: string; statuses?: DeployStatus[]; limit?: number } = {}): DeployRecord[] {
    const conditions: string[] = [];
    const params: Params = { limit: checkLimit(filter.limit) };
    if (filter.app !== undefined) {
      conditions.push("app = @app");
      params.app = filter.app;
    }
    if (filter.statuses !== undefined) {
      // One statement for any number of statuses (an empty list matches nothing).
      conditions.push("status IN (SELECT value FROM json_each(@statuses))");
      params.statuses = JSON.stringify(filter.statuses);
    }
    return this.all<DeployRow>(
      `SELECT * FROM deploys ${whereClause(conditions)} ORDER BY id DESC LIMIT @limit`,
      params,
    ).map(deployFromRow);
  }

  updateDeploy(id: number, patch: Partial<Omit<DeployRecord, "id" | "app" | "kind" | "createdAt">>): DeployRecord {
    const row = this.update<DeployRow>("deploys", { id }, encode(DEPLOY, patch));
    if (row === undefined) throw notFound(`deploy ${id}`, { deployId: id });
    return deployFromRow(row);
  }

  startStep(deployId: number, name: string): StepRecord {
    try {
      // Like release versions: the write lock is held from MAX(seq) to the insert.
      const row = this.get<StepRow>(
        `INSERT INTO steps (deploy_id, seq, name, status, started_at, finished_at, output, details)
         VALUES (@deploy_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE deploy_id = @deploy_id),
                 @name, @status, @started_at, NULL, @output, @details)
         RETURNING *`,
        encode(STEP, { deployId, name, status: "running", startedAt: Date.now(), output: "", details: {} }),
      );
      return stepFromRow(row as StepRow);
    } catch (error) {
      throw orMissingParent(error, `deploy ${deployId}`, { deployId });
    }
  }

  finishStep(
    deployId: number,
    seq: number,
    result: { status: Exclude<StepStatus, "running">; output?: string; details?: Record<string, unknown> },
  ): StepRecord {
    const patch = encode(STEP, {
      status: result.status,
      finishedAt: Date.now(),
      output: result.output === undefined ? undefined : capOutput(result.output),
      details: result.details,
    });
    const row = this.update<StepRow>("steps", { deploy_id: deployId, seq }, patch);
    if (row === undefined) throw notFound(`step ${seq} of deploy ${deployId}`, { deployId, seq });
    return stepFromRow(row);
  }

  listSteps(deployId: number): StepRecord[] {
    return this.all<StepRow>("SELECT * FROM steps WHERE deploy_id = @deployId ORDER BY seq", { deployId }).map(
      stepFromRow,
    );
  }

  putInstance(instance: InstanceRecord): void {
    try {
      // An upsert rather than INSERT OR REPLACE: REPLACE deletes first, which would fire any
      // ON DELETE action a later migration adds.
      this.run(
        `INSERT INTO instances (id, app, version, type, instance_index, pid, start_time, port, state,
                                log_path, started_at, restarts, command, cwd)
         VALUES (@id, @app, @version, @type, @instance_index, @pid, @start_time, @port, @state,
                 @log_path, @started_at, @restarts, @command, @cwd)
         ON CONFLICT (id) DO UPDATE SET
           app = excluded.app, version = excluded.version, type = excluded.type,
           instance_index = excluded.instance_index, pid = excluded.pid, start_time = excluded.start_time,
           port = excluded.port, state = excluded.state, log_path = excluded.log_path,
           started_at = excluded.started_at, restarts = excluded.restarts, command = excluded.command,
           cwd = excluded.cwd`,
        encode(INSTANCE, instance),
      );
    } catch (error) {
      throw orMissingParent(error, `app "${instance.app}"`, { app: instance.app });
    }
  }

  updateInstance(id: string, patch: Partial<Omit<InstanceRecord, "id" | "app">>): InstanceRecord {
    const row = this.update<InstanceRow>("instances", { id }, encode(INSTANCE, patch));
    if (row === undefined) throw notFound(`instance ${id}`, { instance: id });
    return instanceFromRow(row);
  }

  getInstance(id: string): InstanceRecord | undefined {
    const row = this.get<InstanceRow>("SELECT * FROM instances WHERE id = @id", { id });
    return row === undefined ? undefined : instanceFromRow(row);
  }

  listInstances(filter: { app?: string; states?: InstanceState[] } = {}): InstanceRecord[] {
    const conditions: string[] = [];
    const params: Params = {};
    if (filter.app !== undefined) {
      conditions.push("app = @app");
      params.app = filter.app;
    }
    if (filter.states !== undefined) {
      conditions.push("state IN (SELECT value FROM json_each(@states))");
      params.states = JSON.stringify(filter.states);
    }
    return this.all<InstanceRow>(
      `SELECT * FROM instances ${whereClause(conditions)} ORDER BY app, version, type, instance_index, id`,
      params,
    ).map(instanceFromRow);
  }

  deleteInstance(id: string): void {
    this.run("DELETE FROM instances WHERE id = @id", { id });
  }

  addEvent(event: Omit<EventRecord, "id" | "time"> & { time?: number }): EventRecord {
    const row = this.get<EventRow>(
      `INSERT INTO events (app, deploy_id, time, kind, message, data)
       VALUES (@app, @deploy_id, @time, @kind, @message, @data) RETURNING *`,
      encode(EVENT, { ...event, deployId: event.deployId ?? null, time: event.time ?? Date.now() }),
    );
    return eventFromRow(row as EventRow);
  }

  listEvents(filter: EventFilter): EventRecord[] {
    const conditions: string[] = [];
    const params: Params = { limit: checkLimit(filter.limit) };
    if (filter.app !== undefined) {
      conditions.push("app = @app");
      params.app = filter.app;
    }
    if (filter.deployId !== undefined) {
      conditions.push("deploy_id = @deployId");
      params.deployId = filter.deployId;
    }
    if (filter.afterId !== undefined) {
      conditions.push("id > @afterId");
      params.afterId = filter.afterId;
    }
    if (filter.kinds !== undefined) {
      const names = filter.kinds.map((kind, i) => {
        params[`kind${i}`] = kind;
        return `@kind${i}`;
      });
      conditions.push(names.length === 0 ? "0" : `kind IN (${names.join(", ")})`);
    }
    if (filter.newest === true) {
      // The last `limit` events, still returned oldest first.
      return this.all<EventRow>(`SELECT * FROM events ${whereClause(conditions)} ORDER BY id DESC LIMIT @limit`, params)
        .reverse()
        .map(eventFromRow);
    }
    return this.all<EventRow>(`SELECT * FROM events ${whereClause(conditions)} ORDER BY id LIMIT @limit`, params).map(
      eventFromRow,
    );
  }

  transaction<T>(fn: () => T): T {
    // IMMEDIATE: take the write lock at BEGIN. A deferred transaction that reads, then writes,
    // fails with SQLITE_BUSY (which busy_timeout cannot wait out) if another connection wrote in
    // between. Nested calls become savepoints. `fn` must be synchronous: better-sqlite3 refuses a
    // function that returns a promise.
    return this.mapped(() => this.db.transaction(fn).immediate());
  }

  /** Idempotent. The last connection to close checkpoints the WAL into the database file. */
  close(): void {
    if (!this.db.open) return;
    this.statements.clear();
    this.db.close();
  }
}

interface WebhookRow {
  id: number;
  app: string;
  url: string;
  secret: string;
  format: string;
  created_at: number;
}

function webhookFromRow(row: WebhookRow): WebhookRecord {
  return {
    id: row.id,
    app: row.app,
    url: row.url,
    secret: row.secret,
    format: row.format === "slack" ? "slack" : "json",
    createdAt: row.created_at,
  };
}
