-- expect: clean
-- Load a new table unlogged, then make it logged: the rewrite is of a table that only this
-- migration knows about.
SET lock_timeout = '2s';
CREATE UNLOGGED TABLE IF NOT EXISTS country_codes (code text PRIMARY KEY, name text NOT NULL);
INSERT INTO country_codes (code, name) VALUES ('FR', 'France'), ('JP', 'Japan');
ALTER TABLE country_codes SET LOGGED;
