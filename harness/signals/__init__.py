"""Signals: what the invariants read, each a PromQL expression over a service's own metrics."""
