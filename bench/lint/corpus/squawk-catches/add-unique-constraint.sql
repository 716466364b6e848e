-- expect: flagged lock add-unique-without-using-index
-- Builds the unique index under ACCESS EXCLUSIVE: reads and writes wait for the build.
SET lock_timeout = '2s';
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
