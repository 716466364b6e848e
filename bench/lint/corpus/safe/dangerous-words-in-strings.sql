-- expect: clean
-- DROP COLUMN and CREATE INDEX appear only in a comment, a string and a function body
-- (which runs when called, not when the migration creates it).
-- ALTER TABLE users DROP COLUMN email;
SET lock_timeout = '2s';
COMMENT ON COLUMN users.email IS 'Never ALTER TABLE users DROP COLUMN email while v12 runs';
INSERT INTO audit_notes (note) VALUES ('CREATE INDEX orders_idx ON orders (id)');
CREATE OR REPLACE FUNCTION archive_order(order_id bigint) RETURNS void
LANGUAGE sql AS $$
  DELETE FROM orders WHERE id = order_id;
$$;
