-- expect: flagged compat drop-view
SET lock_timeout = '2s';
DROP VIEW active_users;
