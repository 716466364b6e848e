-- expect: flagged lock create-index-non-concurrent
-- EXECUTE of a string constant inside a DO block.
SET lock_timeout = '2s';
DO $$
BEGIN
  EXECUTE 'CREATE INDEX orders_status_idx ON orders (status)';
END
$$;
