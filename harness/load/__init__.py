"""Load generation: Locust users' correctness checks and the per-second recorder."""
