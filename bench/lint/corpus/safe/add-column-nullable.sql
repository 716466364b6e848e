-- expect: clean
SET lock_timeout = '2s';
ALTER TABLE users ADD COLUMN nickname text;
