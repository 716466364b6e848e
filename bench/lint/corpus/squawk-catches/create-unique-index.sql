-- expect: flagged lock create-index-non-concurrent
SET lock_timeout = '2s';
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
