"""Storage: the append-only log, read-model and outbox tables, the codec and group commit."""
