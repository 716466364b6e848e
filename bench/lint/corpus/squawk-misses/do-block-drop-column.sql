-- expect: flagged compat drop-column
-- The same DROP COLUMN as a plain statement, inside a DO block.
SET lock_timeout = '2s';
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'email') THEN
    ALTER TABLE users DROP COLUMN email;
  END IF;
END
$$;
