-- expect: flagged lock volatile-default
-- gen_random_uuid() is VOLATILE: every row is rewritten under ACCESS EXCLUSIVE, on any version.
SET lock_timeout = '2s';
ALTER TABLE orders ADD COLUMN public_id uuid DEFAULT gen_random_uuid();
