"""Zendesk: the Ticketing API client and the webhooks Zendesk sends."""
