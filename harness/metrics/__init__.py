"""Collectors that sample the target, Redis and PostgreSQL once a second during a run."""
