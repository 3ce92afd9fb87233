"""The trigger body ticketsync publishes for trigger-based Zendesk accounts, and its marks.

An admin pastes TRIGGER_BODY into a trigger's "Notify active webhook" action
(docs/zendesk-webhooks.md); `webhooks.parse` recognises a delivery of it by TRIGGER_MARKER
and records it under one of the two TRIGGER_*_TYPE names.
"""

from __future__ import annotations

TRIGGER_MARKER = "ticketsync"
TRIGGER_VERSION = "trigger/1"
# What a trigger delivery is recorded as: the event ticketsync made of it.
TRIGGER_COMMENT_TYPE = "trigger.comment_added"
TRIGGER_STATUS_TYPE = "trigger.status_changed"

# The body an admin pastes into the trigger's "Notify active webhook" action
# (docs/zendesk-webhooks.md). Placeholders render as text, so every one is quoted and
# ids arrive as strings; a field with no value renders as "" (read as None).
# - {{ticket.updated_at_with_timestamp}} is ISO-8601 to the minute (`2013-12-12T05:35Z`).
# - {{ticket.latest_comment.id}} is not in the placeholder reference table but renders the
#   comment's id in practice; without it a comment cannot be told from a retry.
# - {{current_user.role}} (the user who made the update: `End-user`, `Agent`, `Admin`)
#   stands in for the comment author's role, which has no documented placeholder.
TRIGGER_BODY = """\
{
  "ticketsync": "trigger/1",
  "ticket_id": "{{ticket.id}}",
  "external_id": "{{ticket.external_id}}",
  "updated_at": "{{ticket.updated_at_with_timestamp}}",
  "actor_id": "{{current_user.id}}",
  "status": "{{ticket.status}}",
  "priority": "{{ticket.priority}}",
  "group": "{{ticket.group.name}}",
  "assignee_id": "{{ticket.assignee.id}}",
  "assignee": "{{ticket.assignee.name}}",
  "comment": {
    "id": "{{ticket.latest_comment.id}}",
    "body": "{{ticket.latest_comment.value}}",
    "public": "{{ticket.latest_comment.is_public}}",
    "author_id": "{{ticket.latest_comment.author.id}}",
    "author_name": "{{ticket.latest_comment.author.name}}",
    "author_role": "{{current_user.role}}"
  }
}
"""
