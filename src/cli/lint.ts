import { readFile } from "node:fs/promises";
import { BatonError } from "../core/errors.js";
import { type Catalog, readCatalog } from "../lint/catalog.js";
import { formatText } from "../lint/format.js";
import { findSqlFiles, hasErrors, lintSources, type SqlSource } from "../lint/index.js";
import { intOption, parse } from "./args.js";
import { printJson } from "./common.js";

export const summary = "check PostgreSQL migrations for changes that break the running release or lock tables";

export const usage = `baton lint [PATHS...] [--format text|json] [--pg-version 16] [--no-transaction]
                  [--database-url URL]

Parses each .sql file with PostgreSQL's own grammar and reports the statements that would break
the release still serving during a deploy (a dropped or renamed column, a new NOT NULL column) or
lock a busy table (CREATE INDEX without CONCURRENTLY, a validating FOREIGN KEY, a type change that
rewrites the table), each with the lock taken and the safe sequence. Directories are searched for
*.sql files, sorted by path; "-" reads standard input; no PATHS lints the current directory.

  --format text|json   text (default) shows the source line, the lock and the safe alternative;
                       json prints an array of violations (--json is the same)
  --pg-version N       the PostgreSQL major version the migrations run on (default 16)
  --no-transaction     the files do not run inside a transaction (default: each file runs in one,
                       as migration tools run them; one file says so with -- baton:no-transaction)
  --database-url URL   read the live schema and row estimates from this database (read-only catalog
                       queries): column types as they are, and a size-bound lock (an index build, a
                       rewrite, a validating scan) on a table under 10,000 rows is a warning, not
                       an error. A deploy does this with the app's DATABASE_URL.

Suppress a finding with a comment on the line before the statement (or on its line):
  -- baton:allow <rule-id> <reason>        or, for the whole file:  -- baton:allow-file <rule-id> <reason>

Exit codes: 0 no errors (warnings are shown), 1 at least one error, 2 usage error.
Rules and their safe sequences: docs/lint.md.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      format: { type: "string" },
      json: { type: "boolean" },
      "pg-version": { type: "string" },
      "no-transaction": { type: "boolean" },
      "database-url": { type: "string" },
    },
    true,
  );
  const format = values.json ? "json" : (values.format ?? "text");
  if (format !== "text" && format !== "json") {
    throw new BatonError("BATON_USAGE", `--format must be text or json (got "${format}")`);
  }
  const pgVersion = intOption(values["pg-version"], "pg-version") ?? 16;
  const sources = await readSources(positionals.length === 0 ? ["."] : positionals);
  const url = values["database-url"];
  let catalog: Catalog | undefined;
  if (url !== undefined) {
    try {
      catalog = await readCatalog(url);
    } catch (error) {
      throw new BatonError("BATON_USAGE", `--database-url: could not read the catalog: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  const violations = await lintSources(catalog === undefined ? sources : [catalog.source, ...sources], {
    pgVersion,
    transaction: values["no-transaction"] !== true,
    ...(catalog === undefined ? {} : { tableRows: catalog.rows }),
  });
  if (format === "json") printJson(violations);
  else process.stdout.write(formatText(violations, sources.length));
  return hasErrors(violations) ? 1 : 0;
}

async function readSources(paths: readonly string[]): Promise<SqlSource[]> {
  const sources: SqlSource[] = [];
  for (const path of paths) {
    if (path === "-") sources.push({ file: "<stdin>", sql: await readStdin() });
    else for (const file of await findSqlFiles([path])) sources.push({ file, sql: await readFile(file, "utf8") });
  }
  return sources;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
