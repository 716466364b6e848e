// A throwaway PostgreSQL server for end-to-end tests: Debian's binaries, a fresh cluster in a temp
// directory, a free loopback port, its unix socket in that directory, trust authentication, fsync
// off. Missing binaries fail the test with what to install: CI installs them (.ci/run), and a
// test that silently skips proves nothing.
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { waitFor } from "../src/core/wait.js";
import { freePort } from "../src/supervisor/ports.js";

const exec = promisify(execFile);

/** Debian's PostgreSQL 15 (bookworm); BATON_TEST_PG_BIN points elsewhere (another major version). */
export const PG_BIN = process.env.BATON_TEST_PG_BIN ?? "/usr/lib/postgresql/15/bin";
const INSTALL_HINT =
  "install Debian's PostgreSQL (`apt-get install -y postgresql`, as .ci/run does) or set BATON_TEST_PG_BIN to a bin directory with initdb, pg_ctl and postgres";
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

export interface Postgres {
  /** postgresql://postgres@127.0.0.1:PORT/DB, the database created for the test. */
  url: string;
  port: number;
  database: string;
  /** The temp directory: data/, sock/ (the unix socket) and postgres.log. */
  dir: string;
  /** Run one statement on a connection of its own. */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** A connected client; the caller ends it. */
  connect(applicationName?: string): Promise<pg.Client>;
  /** The tail of the server log, for failure messages. */
  log(lines?: number): string;
  /** `pg_ctl stop -m fast`, then SIGKILL if needed; removes the directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Start PostgreSQL and wait until it accepts connections. Running as root (CI containers), the
 * server runs as the `postgres` user: postgres refuses to run as root.
 */
export async function startPostgres(options: { database?: string } = {}): Promise<Postgres> {
  const database = options.database ?? "app";
  const missing = ["initdb", "pg_ctl", "postgres"].filter((bin) => !existsSync(join(PG_BIN, bin)));
  if (missing.length > 0) {
    throw new Error(`PostgreSQL server binaries missing in ${PG_BIN} (${missing.join(", ")}): ${INSTALL_HINT}`);
  }
  await exec("psql", ["--version"], { timeout: 10_000 }).catch((error: Error) => {
    throw new Error(`psql (PostgreSQL's client) is not on PATH (${error.message}): ${INSTALL_HINT}`);
  });
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await postgresUser() : undefined;

  const dir = mkdtempSync(join(tmpdir(), "baton-pg-"));
  const data = join(dir, "data");
  const sock = join(dir, "sock");
  const logFile = join(dir, "postgres.log");
  mkdirSync(sock);
  if (owner !== undefined) for (const path of [dir, sock]) chownSync(path, owner.uid, owner.gid);
  /** Run a PostgreSQL binary as the cluster's owner, bounded. */
  const pgRun = (bin: string, args: string[], timeoutMs: number) => {
    const file = join(PG_BIN, bin);
    return asRoot
      ? exec("runuser", ["-u", "postgres", "--", file, ...args], { cwd: dir, timeout: timeoutMs })
      : exec(file, args, { cwd: dir, timeout: timeoutMs });
  };

  let port = 0;
  let stopped = false;
  const log = (lines = 40): string => {
    try {
      return readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no server log)";
    }
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const pid = postmasterPid(data);
    if (pid !== undefined) {
      await pgRun(
        "pg_ctl",
        ["stop", "-D", data, "-m", "fast", "-w", "-t", String(STOP_TIMEOUT_MS / 1000)],
        STOP_TIMEOUT_MS + 5_000,
      ).catch(() => undefined);
      if (isAlive(pid)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
        // The postmaster's children exit once it is gone; give them a moment, bounded.
        await waitFor("postgres to exit after SIGKILL", () => (isAlive(pid) ? undefined : true), {
          timeoutMs: 5_000,
        }).catch(() => undefined);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await pgRun(
      "initdb",
      ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
      START_TIMEOUT_MS,
    );
    port = await freePort();
    const serverOptions = [
      `-p ${port}`,
      `-k ${sock}`,
      "-c listen_addresses=127.0.0.1",
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=100",
    ].join(" ");
    await pgRun(
      "pg_ctl",
      ["start", "-D", data, "-l", logFile, "-o", serverOptions, "-w", "-t", String(START_TIMEOUT_MS / 1000)],
      START_TIMEOUT_MS + 5_000,
    );
    const admin = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    await waitFor(
      "PostgreSQL to accept connections",
      async () => {
        const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 2_000 });
        try {
          await client.connect();
          await client.query("SELECT 1");
          return true;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 100 },
    );
    await withClient(admin, (c) => c.query(`CREATE DATABASE ${database}`));
  } catch (error) {
    const message = `PostgreSQL did not start in ${dir}: ${(error as Error).message}\n--- postgres.log ---\n${log()}`;
    await stop();
    throw new Error(message, { cause: error });
  }

  const url = `postgresql://postgres@127.0.0.1:${port}/${database}`;
  return {
    url,
    port,
    database,
    dir,
    query: <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
      withClient(url, async (c) => (await c.query<R>(sql, params)).rows),
    connect: async (applicationName = "baton test") => {
      const client = new pg.Client({
        connectionString: url,
        connectionTimeoutMillis: 5_000,
        application_name: applicationName,
      });
      client.on("error", () => undefined);
      await client.connect();
      return client;
    },
    log,
    stop,
  };
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  try {
    const [uid, gid] = await Promise.all([
      exec("id", ["-u", "postgres"], { timeout: 5_000 }),
      exec("id", ["-g", "postgres"], { timeout: 5_000 }),
    ]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch (error) {
    throw new Error(
      `running as root, PostgreSQL must run as the \`postgres\` user, which does not exist (${(error as Error).message}): ${INSTALL_HINT}`,
    );
  }
}

/** The postmaster's pid from postmaster.pid (its first line), when the server was started. */
function postmasterPid(data: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
