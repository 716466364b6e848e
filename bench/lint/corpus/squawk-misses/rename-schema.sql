-- expect: flagged compat rename-schema
SET lock_timeout = '2s';
ALTER SCHEMA billing RENAME TO invoicing;
