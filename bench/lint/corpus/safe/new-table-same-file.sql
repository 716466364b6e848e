-- expect: clean
-- Everything on a table created earlier in the same migration: nothing uses it, it has no rows.
SET lock_timeout = '2s';
CREATE TABLE IF NOT EXISTS webhooks (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL,
  url text NOT NULL,
  secret text
);
CREATE INDEX IF NOT EXISTS webhooks_account_id_idx ON webhooks (account_id);
ALTER TABLE webhooks ADD CONSTRAINT webhooks_url_https CHECK (url LIKE 'https://%');
ALTER TABLE webhooks ALTER COLUMN secret SET NOT NULL;
ALTER TABLE webhooks ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE webhooks RENAME COLUMN url TO endpoint_url;
