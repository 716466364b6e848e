-- expect: clean
-- now() is STABLE, not VOLATILE: evaluated once at ALTER time, stored in the catalog, no rewrite.
SET lock_timeout = '2s';
ALTER TABLE users ADD COLUMN imported_at timestamptz DEFAULT now();
