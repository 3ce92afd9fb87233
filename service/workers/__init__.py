"""Workers: the projection runner, the outbox dispatcher and projection rebuilds."""
