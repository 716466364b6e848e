-- expect: clean
-- A DO block doing only safe things: adding a nullable column if missing.
SET lock_timeout = '2s';
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'nickname') THEN
    ALTER TABLE users ADD COLUMN nickname text;
  END IF;
END
$$;
