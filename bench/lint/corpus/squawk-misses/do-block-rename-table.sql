-- expect: flagged compat rename-table
SET lock_timeout = '2s';
DO LANGUAGE plpgsql $body$
DECLARE
  n integer;
BEGIN
  SELECT count(*) INTO n FROM customers;
  RAISE NOTICE 'renaming % rows', n;
  ALTER TABLE customers RENAME TO accounts;
END
$body$;
