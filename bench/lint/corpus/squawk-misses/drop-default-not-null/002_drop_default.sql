SET lock_timeout = '2s';
ALTER TABLE subscriptions ALTER COLUMN status DROP DEFAULT;
