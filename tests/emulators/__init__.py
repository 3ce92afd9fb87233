"""Emulators of the outside systems ticketsync talks to, for end-to-end tests."""
