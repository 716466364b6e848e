-- expect: flagged compat truncate
-- squawk only bans TRUNCATE ... CASCADE; a plain TRUNCATE still empties a table in use.
SET lock_timeout = '2s';
TRUNCATE sessions;
