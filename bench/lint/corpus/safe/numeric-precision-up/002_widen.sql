SET lock_timeout = '2s';
ALTER TABLE invoices ALTER COLUMN total TYPE numeric(12, 2);
