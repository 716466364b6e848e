// baton's migrations example: a small items API on PostgreSQL (the `pg` package).
//
// Which columns this version of the code reads and writes is in code-version.json, so that the
// expand/contract steps of the README are one-line code changes: v1 knows id, name, created_at;
// v2 also reads and writes `note` (added by migrations/002); v3 stops using `note` before a
// postdeploy drops it. In a real app each of these would be a commit.
//
//   GET  /health  200 once the database answers (the readiness check baton waits for)
//   GET  /        { version, columns }
//   GET  /items   the 20 newest items, with the columns this version reads
//   POST /items   { "name": "...", "note": "..." } inserts one; fields this version does not know are ignored

const { readFileSync } = require("node:fs");
const { createServer } = require("node:http");
const { join } = require("node:path");
const { Pool } = require("pg");

const code = JSON.parse(readFileSync(join(__dirname, "code-version.json"), "utf8"));
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
for (const column of code.columns) {
  if (!IDENTIFIER.test(column)) throw new Error(`code-version.json: bad column name ${JSON.stringify(column)}`);
}
/** The columns a client may send; id and created_at come from the database. */
const writable = code.columns.filter((c) => c !== "id" && c !== "created_at");
const selectItems = `SELECT ${code.columns.join(", ")} FROM items ORDER BY id DESC LIMIT 20`;
const insertItem = `INSERT INTO items (${writable.join(", ")}) VALUES (${writable.map((_, i) => `$${i + 1}`).join(", ")}) RETURNING ${code.columns.join(", ")}`;

const port = Number(process.env.PORT ?? 5000);
const release = process.env.BATON_RELEASE ?? "dev";
// A few connections per instance: during a deploy the old and the new release both hold theirs.
const db = new Pool({ connectionString: process.env.DATABASE_URL, max: 4, application_name: `items ${code.version}` });
db.on("error", (error) => console.error(`idle database connection failed: ${error.message}`));

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" }).end(`${JSON.stringify(body)}\n`);
}

async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw Object.assign(new Error("body too large"), { status: 413 });
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
  } catch {
    throw Object.assign(new Error("body is not JSON"), { status: 400 });
  }
}

async function handle(req, res) {
  const { pathname } = new URL(req.url ?? "/", "http://app");
  if (pathname === "/health") {
    await db.query("SELECT 1");
    return send(res, 200, { ok: true });
  }
  if (pathname === "/") return send(res, 200, { version: code.version, release, columns: code.columns });
  if (pathname === "/items" && req.method === "GET") {
    const { rows } = await db.query(selectItems);
    return send(res, 200, { version: code.version, items: rows });
  }
  if (pathname === "/items" && req.method === "POST") {
    const body = await readJson(req);
    if (typeof body.name !== "string" || body.name === "") {
      return send(res, 400, { error: "name (a non-empty string) is required" });
    }
    const { rows } = await db.query(
      insertItem,
      writable.map((c) => body[c] ?? null),
    );
    return send(res, 201, { version: code.version, item: rows[0] });
  }
  return send(res, 404, { error: "not found" });
}

const server = createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error(`${req.method} ${req.url}: ${error.message}`);
    if (!res.headersSent) send(res, error.status ?? 500, { error: error.message });
    else res.destroy();
  });
});
server.keepAliveTimeout = 5_000;
server.listen(port, "127.0.0.1", () => console.log(`items ${code.version} (${release}) listening on ${port}`));

// Graceful stop: finish what is in flight, then close the database connections.
process.on("SIGTERM", () => {
  server.close(() => {
    db.end().finally(() => process.exit(0));
  });
  server.closeIdleConnections();
});
