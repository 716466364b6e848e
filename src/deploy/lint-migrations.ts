import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import type { ResolvedConfig } from "../config/resolve.js";
import { BatonError } from "../core/errors.js";
import { lintSources, type SqlSource, type Violation } from "../lint/index.js";
import type { ReleaseRecord } from "../store/store.js";
import { usesMigrationTimeouts } from "./release-phase.js";
import type { StepContext, StepOutcome } from "./step-recorder.js";

/**
 * The `lint` step, before the release phase runs any SQL: the migrations that are new in this
 * Release (absent, or different, in the Release that serves now) are checked by the migration
 * linter. The ones already applied are read as history only (what they created is known), never
 * reported. An error (or, with `strict`, a warning) stops the deploy before anything ran.
 */
export async function lintNewMigrations(
  release: ReleaseRecord,
  previous: ReleaseRecord | undefined,
  config: ResolvedConfig,
  env: Record<string, string>,
  ctx: StepContext,
): Promise<StepOutcome> {
  const spec = config.migrations;
  if (spec === undefined) return { status: "skipped", details: { reason: "app.json has no baton.migrations" } };
  const current = await sqlFiles(join(release.path, spec.dir));
  const before = previous === undefined ? new Map<string, string>() : await sqlFiles(join(previous.path, spec.dir));
  const sources: SqlSource[] = [];
  const fresh: string[] = [];
  for (const [name, sql] of current) {
    const applied = before.get(name) === sql;
    if (!applied) fresh.push(name);
    sources.push({ file: join(spec.dir, name), sql, applied });
  }
  if (fresh.length === 0) {
    ctx.output(`no new migrations in ${spec.dir}\n`);
    return { details: { files: 0 } };
  }
  ctx.output(`checking ${fresh.length} new migration${fresh.length === 1 ? "" : "s"}: ${fresh.join(", ")}\n`);
  const catalog = env.DATABASE_URL ? await catalogSource(env.DATABASE_URL, ctx) : undefined;
  if (catalog !== undefined) {
    // The live schema goes after what the applied files say and before the new files: it is the
    // truth the new migrations will meet (tables made outside the migrations, types changed by hand).
    const at = sources.findIndex((source) => source.applied !== true);
    sources.splice(at < 0 ? sources.length : at, 0, catalog);
  }
  const violations = await lintSources(sources, {
    pgVersion: spec.postgres,
    // The release phase gives every migration session a lock_timeout unless the app sets PGOPTIONS.
    lockTimeout: usesMigrationTimeouts(env),
  });
  for (const v of violations) ctx.output(formatViolation(v));
  const blocking = violations.filter((v) => v.severity === "error" || (spec.strict && v.severity === "warning"));
  if (blocking.length > 0) {
    const first = blocking[0] as Violation;
    throw new BatonError(
      "BATON_MIGRATION_UNSAFE",
      `${blocking.length} migration problem${blocking.length === 1 ? "" : "s"} would break the running release or lock a table: ${first.file}:${first.line}: ${first.rule}: ${first.message}`,
      {
        details: {
          violations: blocking.map(({ rule, severity, file, line, column, message }) => ({
            rule,
            severity,
            file,
            line,
            column,
            message,
          })),
        },
        hint: `nothing ran: the old release still serves. The deploy output shows the safe sequence for each; \`baton lint ${spec.dir}\` checks locally; a reviewed exception takes \`-- baton:allow <rule> <reason>\``,
      },
    );
  }
  return { details: { files: fresh.length, errors: 0, warnings: violations.length } };
}

/**
 * The database's tables as CREATE TABLE statements (column types and NOT NULL, as the catalog has
 * them), read as applied history: the type-change and NOT NULL rules then judge against the real
 * schema. Unreachable database: said in the output, and the lint goes on from the files alone.
 */
async function catalogSource(url: string, ctx: StepContext): Promise<SqlSource | undefined> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 5_000,
    application_name: "baton lint",
  });
  try {
    await client.connect();
    const { rows } = await client.query<{
      schema: string;
      table: string;
      column: string;
      type: string;
      not_null: boolean;
    }>(
      `SELECT n.nspname AS schema, t.relname AS table, a.attname AS column,
              format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null
         FROM pg_attribute a
         JOIN pg_class t ON t.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE t.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        ORDER BY n.nspname, t.relname, a.attnum`,
    );
    const tables = new Map<string, string[]>();
    for (const r of rows) {
      const name = r.schema === "public" ? quote(r.table) : `${quote(r.schema)}.${quote(r.table)}`;
      const columns = tables.get(name) ?? [];
      columns.push(`${quote(r.column)} ${r.type}${r.not_null ? " NOT NULL" : ""}`);
      tables.set(name, columns);
    }
    ctx.output(`read the live schema: ${tables.size} table${tables.size === 1 ? "" : "s"}\n`);
    const sql = [...tables].map(([name, columns]) => `CREATE TABLE ${name} (${columns.join(", ")});`).join("\n");
    return { file: "(live database schema)", sql, applied: true };
  } catch (error) {
    ctx.output(
      `could not read the live schema (${(error as Error).message}); linting from the migration files alone\n`,
    );
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const quote = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;

async function sqlFiles(dir: string): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".sql")).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw error;
  }
  const out = new Map<string, string>();
  for (const name of names) out.set(name, await readFile(join(dir, name), "utf8"));
  return out;
}

function formatViolation(v: Violation): string {
  const lines = [`${v.file}:${v.line}:${v.column}  ${v.severity}  ${v.rule}  ${v.message}`];
  if (v.lock !== undefined) lines.push(`    lock: ${v.lock}`);
  if (v.safe !== undefined && v.safe !== "") lines.push(`    instead: ${v.safe.split("\n").join("\n             ")}`);
  return `${lines.join("\n")}\n`;
}
