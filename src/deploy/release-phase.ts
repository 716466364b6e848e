import { createHash } from "node:crypto";
import pg from "pg";
import type { ResolvedConfig } from "../config/resolve.js";
import { BatonError } from "../core/errors.js";
import { delay } from "../core/wait.js";
import type { ReleaseRecord } from "../store/store.js";
import { runCommand } from "../supervisor/command.js";
import type { AppUser } from "../supervisor/run-as.js";
import type { StepContext, StepOutcome } from "./step-recorder.js";

/** A migration waits at most this long for a lock before it fails (instead of queueing every query behind it). */
const MIGRATION_LOCK_TIMEOUT = "5s";

/**
 * The `release` step: the Procfile `release` command (migrations) with the new code and config,
 * before any traffic moves. With DATABASE_URL set, baton holds a PostgreSQL advisory lock for the
 * app around it (two releases never migrate at once, even from two servers), and the migration's
 * sessions get `lock_timeout` and `statement_timeout` through PGOPTIONS (honoured by libpq, psql
 * and node-postgres) unless the app sets PGOPTIONS itself.
 */
export async function runReleasePhase(
  release: ReleaseRecord,
  config: ResolvedConfig,
  env: Record<string, string>,
  ctx: StepContext,
  user?: AppUser,
): Promise<StepOutcome> {
  const command = config.releaseCommand ?? "";
  const timeoutMs = config.timeouts.releaseMs;
  const commandEnv: Record<string, string> = { ...env, BATON_RELEASE: `v${release.version}`, DYNO: "release.1" };
  const databaseUrl = env.DATABASE_URL;
  let lock: pg.Client | undefined;
  let invalidBefore = new Set<string>();
  if (databaseUrl !== undefined && databaseUrl !== "") {
    lock = await takeMigrationLock(databaseUrl, release.app, timeoutMs, ctx);
    const pgOptions = migrationPgOptions(env, timeoutMs);
    if (pgOptions !== undefined) {
      commandEnv.PGOPTIONS = pgOptions;
      ctx.output(`PGOPTIONS: lock_timeout ${MIGRATION_LOCK_TIMEOUT}, statement_timeout ${timeoutMs} ms\n`);
    }
    await warnLongTransactions(lock, ctx);
    invalidBefore = await invalidIndexes(lock);
  }
  try {
    ctx.output(`$ ${command}\n`);
    const result = await runCommand({
      command,
      cwd: release.path,
      env: commandEnv,
      timeoutMs,
      onOutput: ctx.output,
      onSpawn: (spawned) => ctx.spawned?.(spawned),
      user,
    });
    if (result.code !== 0) {
      throw new BatonError(
        "BATON_RELEASE_PHASE_FAILED",
        result.timedOut
          ? `the release command timed out after ${timeoutMs} ms`
          : `the release command exited with ${result.code ?? result.signal}`,
        {
          details: { command, exitCode: result.code, timedOut: result.timedOut },
          hint: "nothing else changed: the old release still serves. Fix the release command (often a migration) and deploy again",
        },
      );
    }
    if (lock !== undefined) {
      // A CREATE INDEX CONCURRENTLY that failed half-way leaves an INVALID index behind: it costs
      // every write and serves no read. The migration "succeeded", the schema did not.
      const fresh = [...(await invalidIndexes(lock))].filter((name) => !invalidBefore.has(name));
      if (fresh.length > 0) {
        throw new BatonError(
          "BATON_RELEASE_PHASE_FAILED",
          `the release phase left invalid indexes: ${fresh.join(", ")}`,
          {
            details: { invalidIndexes: fresh },
            hint: `a CREATE INDEX CONCURRENTLY failed part-way (often a deadlock or a duplicate for a unique index): DROP INDEX CONCURRENTLY ${fresh[0]}; fix the cause, then deploy again. The old release still serves`,
          },
        );
      }
    }
    return { details: { command, ms: result.ms, migrationLock: lock !== undefined } };
  } finally {
    await lock?.end().catch(() => undefined);
  }
}

/**
 * A session-level advisory lock keyed by the app's name, held by a connection of baton's own for
 * as long as the release command runs (it is released when that connection closes, even if baton
 * dies). Waits politely for another release phase of the same app to finish.
 */
async function takeMigrationLock(url: string, app: string, timeoutMs: number, ctx: StepContext): Promise<pg.Client> {
  const key = advisoryKey(`baton:release:${app}`);
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    application_name: "baton release lock",
  });
  try {
    await client.connect();
  } catch (error) {
    throw new BatonError(
      "BATON_RELEASE_PHASE_FAILED",
      `could not connect to DATABASE_URL to take the migration lock: ${(error as Error).message}`,
      {
        cause: error,
        hint: "check DATABASE_URL (`baton config --app NAME`); nothing ran and the old release still serves",
      },
    );
  }
  client.on("error", () => undefined);
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [key]);
    if (rows[0]?.locked === true) return client;
    if (Date.now() >= deadline) {
      await client.end().catch(() => undefined);
      throw new BatonError(
        "BATON_RELEASE_PHASE_FAILED",
        `another release phase of ${app} held the migration lock for ${timeoutMs} ms`,
        {
          hint: "wait for the other deploy to finish, then deploy again",
        },
      );
    }
    if (!told) {
      ctx.output("waiting for another release phase of this app to finish (advisory lock)\n");
      told = true;
    }
    await delay(500);
  }
}

/**
 * PGOPTIONS for a migration session (release phase, postdeploy) when the app has a database and
 * sets no PGOPTIONS of its own; the lint step assumes the same (see usesMigrationTimeouts).
 */
export function migrationPgOptions(env: Record<string, string>, timeoutMs: number): string | undefined {
  if (!usesMigrationTimeouts(env)) return undefined;
  return `-c lock_timeout=${MIGRATION_LOCK_TIMEOUT} -c statement_timeout=${timeoutMs}`;
}

export function usesMigrationTimeouts(env: Record<string, string>): boolean {
  return env.DATABASE_URL !== undefined && env.DATABASE_URL !== "" && env.PGOPTIONS === undefined;
}

async function invalidIndexes(client: pg.Client): Promise<Set<string>> {
  const { rows } = await client.query<{ name: string }>(
    "SELECT indexrelid::regclass::text AS name FROM pg_index WHERE NOT indisvalid",
  );
  return new Set(rows.map((r) => r.name));
}

/**
 * Transactions that have been open a while would block the migration's locks (and, behind the
 * migration, every query of the live app): say so before the migration waits on them.
 */
async function warnLongTransactions(client: pg.Client, ctx: StepContext): Promise<void> {
  const { rows } = await client.query<{ pid: number; age_s: number; state: string; query: string }>(
    `SELECT pid, extract(epoch FROM now() - xact_start)::int AS age_s, state, left(query, 80) AS query
       FROM pg_stat_activity
      WHERE xact_start < now() - interval '60 seconds' AND pid <> pg_backend_pid() AND datname = current_database()
      ORDER BY xact_start LIMIT 5`,
  );
  for (const r of rows) {
    ctx.output(
      `warning: transaction of pid ${r.pid} open for ${r.age_s} s (${r.state}: ${r.query}) may block this migration's locks\n`,
    );
  }
}

/** A stable signed 64-bit key for pg_advisory_lock, as a decimal string (bigint in SQL). */
function advisoryKey(name: string): string {
  return createHash("sha256").update(name).digest().readBigInt64BE(0).toString();
}

/**
 * Dokku's `predeploy` (before the release phase) and `postdeploy` (after the old instances have
 * stopped: the contract phase of expand/contract, where dropping what the old code used is safe).
 */
export async function runHook(
  hook: "predeploy" | "postdeploy",
  command: string,
  release: ReleaseRecord,
  env: Record<string, string>,
  timeoutMs: number,
  ctx: StepContext,
  user?: AppUser,
): Promise<StepOutcome> {
  const hookEnv: Record<string, string> = { ...env, BATON_RELEASE: `v${release.version}`, DYNO: `${hook}.1` };
  // The contract step drops things: it gets the migration session settings too.
  const pgOptions = migrationPgOptions(env, timeoutMs);
  if (pgOptions !== undefined) hookEnv.PGOPTIONS = pgOptions;
  ctx.output(`$ ${command}\n`);
  const result = await runCommand({
    command,
    cwd: release.path,
    env: hookEnv,
    timeoutMs,
    onOutput: ctx.output,
    onSpawn: (spawned) => ctx.spawned?.(spawned),
    user,
  });
  if (result.code !== 0) {
    throw new BatonError(
      "BATON_HOOK_FAILED",
      `${hook} ${result.timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${result.code ?? result.signal}`}`,
      {
        details: { hook, command, exitCode: result.code },
        hint:
          hook === "predeploy"
            ? "nothing else changed: the old release still serves"
            : "the new release is live; the contract step did not finish: fix it and run it by hand or deploy again",
      },
    );
  }
  return { details: { command, ms: result.ms } };
}
