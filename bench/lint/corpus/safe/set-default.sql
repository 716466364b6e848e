-- expect: clean
-- A catalog change only: new rows get the default, existing rows are not touched.
SET lock_timeout = '2s';
ALTER TABLE users ALTER COLUMN locale SET DEFAULT 'en';
