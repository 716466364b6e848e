SET lock_timeout = '2s';
ALTER TABLE profiles ALTER COLUMN theme DROP DEFAULT;
