SET lock_timeout = '2s';
ALTER TABLE tags ALTER COLUMN label TYPE text;
