SET lock_timeout = '2s';
ALTER TABLE coupons ALTER COLUMN code TYPE varchar(20);
