"""The live game-day view: a "Game day" tab in the Locust master's web UI, and its controls."""
