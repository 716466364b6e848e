import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ResolvedConfig } from "../config/resolve.js";
import { BatonError } from "../core/errors.js";
import { type Catalog, readCatalog } from "../lint/catalog.js";
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
  const catalog = env.DATABASE_URL ? await liveCatalog(env.DATABASE_URL, ctx) : undefined;
  if (catalog !== undefined) {
    // The live schema goes after what the applied files say and before the new files: it is the
    // truth the new migrations will meet (tables made outside the migrations, types changed by hand).
    const at = sources.findIndex((source) => source.applied !== true);
    sources.splice(at < 0 ? sources.length : at, 0, catalog.source);
  }
  const violations = await lintSources(sources, {
    pgVersion: spec.postgres,
    // The release phase gives every migration session a lock_timeout unless the app sets PGOPTIONS.
    lockTimeout: usesMigrationTimeouts(env),
    ...(catalog === undefined ? {} : { tableRows: catalog.rows }),
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
 * The live database's schema and table sizes (src/lint/catalog.ts). Unreachable database: said in
 * the output, and the lint goes on from the files alone.
 */
async function liveCatalog(url: string, ctx: StepContext): Promise<Catalog | undefined> {
  try {
    const catalog = await readCatalog(url);
    ctx.output(
      `read the live schema: ${catalog.tables} table${catalog.tables === 1 ? "" : "s"}, ${catalog.rows.size} with row estimates\n`,
    );
    return catalog;
  } catch (error) {
    ctx.output(
      `could not read the live schema (${(error as Error).message}); linting from the migration files alone\n`,
    );
    return undefined;
  }
}

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
