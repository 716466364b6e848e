#!/bin/sh
# The Procfile's release command: apply migrations/*.sql in name order, each file once, each in one
# transaction together with its row in schema_migrations (a failing statement rolls back the whole
# file and records nothing). baton runs this before any traffic moves, after linting the new files,
# under a PostgreSQL advisory lock per app, with lock_timeout and statement_timeout set through
# PGOPTIONS (which psql, like every libpq client, honours).
set -eu

: "${DATABASE_URL:?DATABASE_URL is not set: baton config:set --app NAME DATABASE_URL=postgresql://...}"
dir="${MIGRATIONS_DIR:-migrations}"

run_psql() {
  psql -X -q -v ON_ERROR_STOP=1 "$@" "$DATABASE_URL"
}

# What this session runs with, so the deploy output shows the timeouts the migrations get.
run_psql -A -t -c "SELECT 'migration session: lock_timeout=' || current_setting('lock_timeout') || ', statement_timeout=' || current_setting('statement_timeout')"

run_psql -c "SET client_min_messages = warning" -c "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
applied=$(run_psql -A -t -c "SELECT name FROM schema_migrations")

count=0
for file in "$dir"/*.sql; do
  [ -e "$file" ] || continue
  name=$(basename "$file")
  if printf '%s\n' "$applied" | grep -qxF "$name"; then
    continue
  fi
  echo "applying $name"
  # -1 wraps both inputs in one BEGIN ... COMMIT; ON_ERROR_STOP makes psql exit 3 on the first error
  # (after a ROLLBACK). The name goes in as a psql variable, quoted by psql, never pasted into SQL.
  run_psql -1 -v name="$name" -f "$file" -f - <<'SQL'
INSERT INTO schema_migrations (name) VALUES (:'name');
SQL
  count=$((count + 1))
done
echo "$count migration(s) applied"
