"""Wiring: the HTTP app, the CLI, configuration and the workers."""
