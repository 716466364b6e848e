-- expect: clean
-- PostgreSQL 11+: a constant default is stored in the catalog, no rewrite; old INSERTs get it.
SET lock_timeout = '2s';
ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';
