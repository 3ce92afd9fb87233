"""Read models and the reconciliation policy, as pure functions of state and event."""
