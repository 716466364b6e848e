-- expect: clean
-- PostgreSQL 12+ allows ADD VALUE inside a transaction; old code never sees the new value unless
-- new code writes it.
SET lock_timeout = '2s';
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded' AFTER 'paid';
