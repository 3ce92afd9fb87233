"""The outside world: one module per system, each behind a small interface."""
