-- expect: flagged lock add-primary-key-without-using-index
SET lock_timeout = '2s';
ALTER TABLE audit_log ADD PRIMARY KEY (id);
