"""stampede: chaos and load testing for cache-backed services."""

__version__ = "0.1.0"
