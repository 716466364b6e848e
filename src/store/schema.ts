import type Database from "better-sqlite3";
import { BatonError } from "../core/errors.js";

/**
 * The store's schema as an ordered list of migrations. `PRAGMA user_version` holds how many have
 * been applied; opening a store applies the rest, each in its own transaction together with the
 * bump of user_version, so a crash mid-migration leaves the previous schema intact.
 *
 * Never edit or reorder a migration that has shipped: append a new one.
 *
 * Enum-like TEXT columns (status, kind, state) carry no CHECK constraint on purpose: SQLite cannot
 * alter a CHECK without rebuilding the table, and new states are expected. Booleans do, as 0/1.
 * Events have no foreign keys: the log must accept (and outlive) whatever it mentions.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE apps (
    name            TEXT PRIMARY KEY,
    domains         TEXT NOT NULL,
    is_default      INTEGER NOT NULL CHECK (is_default IN (0, 1)),
    current_version INTEGER,
    config_vars     TEXT NOT NULL,
    created_at      INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE releases (
    app         TEXT NOT NULL REFERENCES apps (name),
    version     INTEGER NOT NULL CHECK (version > 0),
    status      TEXT NOT NULL,
    source      TEXT NOT NULL,
    path        TEXT NOT NULL,
    config_vars TEXT NOT NULL,
    app_config  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    pruned      INTEGER NOT NULL CHECK (pruned IN (0, 1)),
    PRIMARY KEY (app, version)
  ) STRICT;

  -- AUTOINCREMENT so an id is never handed out twice, even after rows are deleted.
  CREATE TABLE deploys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    app             TEXT NOT NULL REFERENCES apps (name),
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    version         INTEGER,
    from_version    INTEGER,
    phase           TEXT NOT NULL,
    request         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER,
    finished_at     INTEGER,
    error           TEXT,
    failed_requests INTEGER,
    details         TEXT NOT NULL
  ) STRICT;
  CREATE INDEX deploys_app ON deploys (app, id);
  -- The queue and crash recovery look for queued and running deploys across all apps.
  CREATE INDEX deploys_status ON deploys (status, id);

  CREATE TABLE steps (
    deploy_id   INTEGER NOT NULL REFERENCES deploys (id),
    seq         INTEGER NOT NULL CHECK (seq > 0),
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    output      TEXT NOT NULL,
    details     TEXT NOT NULL,
    PRIMARY KEY (deploy_id, seq)
  ) STRICT;

  -- instance_index: "index" is an SQL keyword.
  CREATE TABLE instances (
    id             TEXT PRIMARY KEY,
    app            TEXT NOT NULL REFERENCES apps (name),
    version        INTEGER NOT NULL,
    type           TEXT NOT NULL,
    instance_index INTEGER NOT NULL,
    pid            INTEGER NOT NULL,
    start_time     TEXT NOT NULL,
    port           INTEGER,
    state          TEXT NOT NULL,
    log_path       TEXT NOT NULL,
    started_at     INTEGER NOT NULL,
    restarts       INTEGER NOT NULL,
    command        TEXT NOT NULL,
    cwd            TEXT NOT NULL
  ) STRICT;
  CREATE INDEX instances_app ON instances (app, state);

  CREATE TABLE events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    app       TEXT NOT NULL,
    deploy_id INTEGER,
    time      INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    message   TEXT NOT NULL,
    data      TEXT NOT NULL
  ) STRICT;
  CREATE INDEX events_app ON events (app, id);
  CREATE INDEX events_deploy ON events (deploy_id, id);
  `,
  // 2: maintenance mode and the deploy lock of an app, each JSON or NULL (off).
  `
  ALTER TABLE apps ADD COLUMN maintenance TEXT;
  ALTER TABLE apps ADD COLUMN lock TEXT;
  `,
  // 3: webhooks: where an app's deploy events are sent, and the key that signs them.
  `
  CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    app        TEXT NOT NULL,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    format     TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX webhooks_app ON webhooks (app);
  `,
];

/** Bring the schema of `db` up to date; returns how many migrations this call applied. */
export function migrate(db: Database.Database, migrations: readonly string[] = MIGRATIONS): number {
  // One migration per transaction, IMMEDIATE so the write lock is held from reading user_version
  // on: two processes opening the same store at once cannot both apply the same migration.
  const applyNext = db.transaction((): boolean => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > migrations.length) {
      // Written by a newer baton: guessing at its schema could destroy deploy history.
      throw new BatonError(
        "BATON_STATE_CORRUPT",
        `store ${db.name} has schema version ${version}, newer than this baton knows (${migrations.length})`,
        { hint: "Run the baton version that wrote this store, or upgrade baton.", details: { path: db.name } },
      );
    }
    if (version === migrations.length) return false;
    db.exec(migrations[version] as string);
    // PRAGMA takes no bound parameters; the value is a number we computed.
    db.pragma(`user_version = ${version + 1}`);
    return true;
  });
  let applied = 0;
  while (applyNext.immediate()) applied++;
  return applied;
}
