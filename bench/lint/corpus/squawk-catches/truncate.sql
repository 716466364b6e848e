-- expect: flagged compat truncate
SET lock_timeout = '2s';
TRUNCATE sessions CASCADE;
