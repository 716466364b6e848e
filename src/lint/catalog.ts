/**
 * What a live database adds to a lint run (DATABASE_URL): its tables as CREATE TABLE statements
 * (column types and NOT NULL as the catalog has them), read as applied history so the type-change
 * and NOT NULL rules judge against the real schema; and each table's estimated rows, which rank
 * the size-bound lock rules (size.ts). Read-only catalog queries; nothing is locked.
 */
import pg from "pg";
import type { SqlSource } from "./runner.js";

export interface Catalog {
  /** The schema as SQL, to lint as an applied source. */
  source: SqlSource;
  tables: number;
  /** Estimated rows per table ("users", "audit.users"); tables never analysed are absent. */
  rows: Map<string, number>;
}

export async function readCatalog(url: string, timeoutMs = 5_000): Promise<Catalog> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: "baton lint",
  });
  try {
    await client.connect();
    const { rows: columns } = await client.query<{
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
    // reltuples is -1 for a table never vacuumed or analysed (PostgreSQL 14+): unknown, not empty.
    const { rows: sizes } = await client.query<{ schema: string; table: string; estimate: number }>(
      `SELECT n.nspname AS schema, c.relname AS table, c.reltuples::float8 AS estimate
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND c.reltuples >= 0
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
    );
    const tables = new Map<string, string[]>();
    for (const r of columns) {
      const name = r.schema === "public" ? quote(r.table) : `${quote(r.schema)}.${quote(r.table)}`;
      const list = tables.get(name) ?? [];
      list.push(`${quote(r.column)} ${r.type}${r.not_null ? " NOT NULL" : ""}`);
      tables.set(name, list);
    }
    const sql = [...tables].map(([name, list]) => `CREATE TABLE ${name} (${list.join(", ")});`).join("\n");
    const rows = new Map<string, number>();
    // Keyed the way rules name relations (relationName): bare in public, schema-qualified elsewhere.
    for (const s of sizes) rows.set(s.schema === "public" ? s.table : `${s.schema}.${s.table}`, Math.round(s.estimate));
    return { source: { file: "(live database schema)", sql, applied: true }, tables: tables.size, rows };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const quote = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;
