-- hosts binds a secret to the hosts it may be sent to (issue 18: a graph author could send
-- any secret to any reachable host). A comma-separated list of host names, addresses and
-- *.domain patterns, lowercase; '' means any host, as before this column.
ALTER TABLE secrets ADD COLUMN hosts TEXT NOT NULL DEFAULT '';
