"""Jira Cloud: the REST API v3 client and the webhooks Jira sends."""
