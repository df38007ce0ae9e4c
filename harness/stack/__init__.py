"""Child processes of the embedded stack: redis-server, PostgreSQL, fault proxy, target."""
