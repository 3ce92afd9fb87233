"""The AI chat platform: its signed webhooks in, the agent's replies out."""
