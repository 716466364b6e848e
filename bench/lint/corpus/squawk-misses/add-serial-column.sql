-- expect: flagged lock table-rewrite
-- A serial column is filled from a sequence (volatile nextval()): every row is rewritten.
-- (squawk only reports prefer-identity here, a style rule about serial types.)
SET lock_timeout = '2s';
ALTER TABLE audit_log ADD COLUMN id bigserial;
