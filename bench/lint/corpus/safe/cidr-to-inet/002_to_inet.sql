SET lock_timeout = '2s';
ALTER TABLE allowlist ALTER COLUMN network TYPE inet;
