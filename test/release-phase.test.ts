// The release phase against a real PostgreSQL (test/postgres.ts): a CREATE INDEX CONCURRENTLY that
// fails part-way leaves an INVALID index even when the migration tool reports success; baton must
// not call that release phase a success.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { ResolvedConfig } from "../src/config/resolve.js";
import { runReleasePhase } from "../src/deploy/release-phase.js";
import type { StepContext } from "../src/deploy/step-recorder.js";
import type { ReleaseRecord } from "../src/store/store.js";
import { cleanup, tmpHome } from "./helpers.js";
import { PG_BIN, type Postgres, startPostgres } from "./postgres.js";

let db: Postgres;
before(async () => {
  db = await startPostgres();
  // Duplicates: a unique index on v cannot be built, and CONCURRENTLY leaves it behind INVALID.
  await db.query("CREATE TABLE items (id bigint PRIMARY KEY, v integer)");
  await db.query("INSERT INTO items VALUES (1, 7), (2, 7)");
});
after(async () => {
  await db?.stop();
  await cleanup();
});

const release = (): ReleaseRecord => ({
  app: "shop",
  version: 2,
  status: "pending",
  source: "",
  path: tmpHome(),
  configVars: {},
  appConfig: null,
  createdAt: 0,
  pruned: false,
});

async function releasePhase(command: string): Promise<{ output: string; error?: Error & { code?: string } }> {
  let output = "";
  const ctx: StepContext = { output: (chunk) => (output += chunk) };
  const config = { releaseCommand: command, timeouts: { releaseMs: 30_000 } } as unknown as ResolvedConfig;
  try {
    await runReleasePhase(release(), config, { ...process.env, DATABASE_URL: db.url } as Record<string, string>, ctx);
    return { output };
  } catch (error) {
    return { output, error: error as Error & { code?: string } };
  }
}

test("a release command that exits 0 but leaves an INVALID index fails the release phase", async () => {
  // `|| true`: a migration tool that logs the error and carries on.
  const result = await releasePhase(
    `${PG_BIN}/psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -c "CREATE UNIQUE INDEX CONCURRENTLY items_v ON items (v)" || true`,
  );
  assert.equal(result.error?.code, "BATON_RELEASE_PHASE_FAILED", result.output);
  assert.match(result.error?.message ?? "", /left invalid indexes: items_v/);
  const rows = await db.query<{ valid: boolean }>(
    "SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'items_v'::regclass",
  );
  assert.deepEqual(rows, [{ valid: false }], "the index really is INVALID in the database");
});

test("an INVALID index left before the release phase is not blamed on it", async () => {
  const result = await releasePhase("true");
  assert.equal(result.error, undefined, result.output);
});
