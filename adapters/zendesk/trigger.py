"""The trigger body ticketsync publishes for trigger-based Zendesk accounts, and its marks.

An admin pastes TRIGGER_BODY into a trigger's "Notify active webhook" action
(docs/zendesk-webhooks.md); `webhooks.parse` recognises a delivery of it by TRIGGER_MARKER
and records it as a notice (TRIGGER_NOTICE_TYPE): "this ticket changed", and no more.

Zendesk pastes placeholders into the body as text, and whether it escapes them inside a
JSON string is not documented. A placeholder holding what a person wrote (a comment, a
name) could then close its string and write the rest of the body: another ticket, another
comment, an agent as author. So the body carries ids only, and what changed is read from
Zendesk's API (docs/behaviour.md, "Limits"). Bodies of the first version, which did carry
comments and fields, are still accepted, and read the same way: as notices.
"""

from __future__ import annotations

TRIGGER_MARKER = "ticketsync"
TRIGGER_VERSION = "trigger/2"
# The versions a delivery may carry: trigger/1 bodies were published before, with the
# comment's text, author and the ticket's fields, none of which is believed now.
TRIGGER_VERSIONS = ("trigger/1", TRIGGER_VERSION)
# What a trigger delivery is recorded as. Deliveries stored before they became notices
# carry one of the two older names; the audit trail still reads them.
TRIGGER_NOTICE_TYPE = "trigger.ticket_changed"
TRIGGER_COMMENT_TYPE = "trigger.comment_added"
TRIGGER_STATUS_TYPE = "trigger.status_changed"

# The body an admin pastes into the trigger's "Notify active webhook" action
# (docs/zendesk-webhooks.md). Placeholders render as text, so every one is quoted and
# ids arrive as strings; a field with no value renders as "" (read as None).
# - {{ticket.external_id}} is the conversation id ticketsync gave the ticket.
# - {{ticket.updated_at_with_timestamp}} is ISO-8601 to the minute (`2013-12-12T05:35Z`).
# - {{ticket.latest_comment.id}} is not in the placeholder reference table but renders the
#   comment's id in practice; it is kept for the audit trail, not acted on.
TRIGGER_BODY = """\
{
  "ticketsync": "trigger/2",
  "ticket_id": "{{ticket.id}}",
  "external_id": "{{ticket.external_id}}",
  "updated_at": "{{ticket.updated_at_with_timestamp}}",
  "comment_id": "{{ticket.latest_comment.id}}"
}
"""
