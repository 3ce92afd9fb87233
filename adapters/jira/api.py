"""Jira Cloud through its REST API v3: the HelpDesk port when TICKETSYNC_TICKETING=jira.

The API facts relied on are in reference/jira.md, cited as "ref: <section>". A ticket is an
issue in one project: `TicketRef.id` is its key (`OPS-12`), `TicketRef.status` the name of
its Jira status (`In Progress`). Every failure is raised as one of the classes in
adapters/ports.py, with `status` the HTTP status when there was an answer:

    connection refused, connect timeout       Retryable       nothing was sent
    read timeout, connection dropped after    OutcomeUnknown  the request may have been applied
      sending, 500, 502, 504
    503                                       Retryable       retry_after from Retry-After
    429 (also the per-issue write limit)      RateLimited     retry_after from Retry-After
    404                                       NotFound        deleted, or moved away
    401, 403, any other 4xx                   Permanent       Jira's errorMessages and errors

A done issue is never TicketClosed: it takes comments, and a transition reopens it.

What the boot check (`start`) refuses is one JiraStartError with a one-line message.

Jira has no idempotency key on create (ref: "Never duplicating a create"), so every issue
carries its conversation: the label `ticketsync-<conversation id>` (labels.py) and the
entity property `ticketsync` = {"conversation_id": …}, both set in the create call. After a
create whose outcome is unknown, the issue is looked up by label before creating again;
search lags behind a fresh create, so the look-up is repeated a few times, and the property
of each issue found is checked, since anyone can add a label.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from ticketsync.adapters.jira import adf, answers
from ticketsync.adapters.jira.labels import conversation_label, labels
from ticketsync.adapters.ports import (
    CallFailed,
    NotFound,
    OutcomeUnknown,
    Permanent,
    Retryable,
)
from ticketsync.events.errors import TicketsyncError
from ticketsync.events.tickets import (
    Comment,
    NewTicket,
    Priority,
    TicketChange,
    TicketRef,
    TicketStatus,
)

logger = logging.getLogger(__name__)

SYSTEM = "jira"
API = "/rest/api/3"
# CONTRACT section 4: ticketsync's priorities by the names of Jira's default scheme.
PRIORITY_TO_JIRA: Mapping[Priority, str] = {
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "urgent": "Highest",
}
PROPERTY_KEY = "ticketsync"
# ref: Comments. A service project's internal note is a comment with this property.
INTERNAL_PROPERTY = "sd.public.comment"
SERVICE_PROJECT = "service_desk"
# ref: Transitions. Status categories: `new`, `indeterminate`, `done`.
DONE = "done"
# A Jira status category in ticketsync's words (the `new` category is a new ticket's).
CATEGORY_STATUS: dict[str, TicketStatus] = {
    "new": "new",
    "indeterminate": "open",
    DONE: "solved",
}
# Where each of ticketsync's statuses goes, in the order of the categories to try.
TARGET_CATEGORIES: Mapping[TicketStatus, tuple[str, ...]] = {
    "new": ("new", "indeterminate"),
    "open": ("indeterminate", "new"),
    "pending": ("indeterminate", "new"),
    "hold": ("indeterminate", "new"),
    "solved": (DONE,),
    "closed": (DONE,),
}
# Said first in an internal note that goes out as a public comment (a Jira Software project
# with no restricting role or group configured).
INTERNAL_LEAD = "Internal note (from ticketsync, not for the customer)"
# Said first in the customer's words: the API posts as ticketsync's account, never theirs.
CUSTOMER_LEAD = "The customer wrote:"
SUMMARY_MAX_CHARS = 255  # Jira's limit on an issue's summary.
SEARCH_PAGE = 50
COMPONENT_REFRESH_SECONDS = 300.0
OWN_COMMENTS_KEPT = 10_000

# ref: createmeta. Custom field types by their schema `custom` key.
_RICH_TEXT = "com.atlassian.jira.plugin.system.customfieldtypes:textarea"


class JiraStartError(TicketsyncError):
    """Jira cannot be used as configured; the message is one line saying what to fix."""

    def __init__(self, message: str) -> None:
        # Jira's own error text can hold line breaks; callers print this as one line.
        super().__init__(" ".join(message.split()))


@dataclass(frozen=True)
class Visibility:
    """Who may read an internal note on a project that is not a service project.

    ref: Comments. A group is named by its id (`identifier`), which survives renames; a
    role by its name.
    """

    type: Literal["role", "group"]
    value: str

    def body(self) -> dict[str, str]:
        if self.type == "group":
            return {"type": "group", "identifier": self.value}
        return {"type": "role", "value": self.value}


@dataclass(frozen=True)
class _Field:
    """A custom field of the create screen, and how its value is written."""

    id: str
    schema_type: str | None
    custom: str | None
    items: str | None


class JiraHelpDesk:
    """The HelpDesk port on a Jira Cloud project, through a synchronous httpx client.

    Basic auth with an Atlassian account's email and API token (ref: Auth). `start()` checks
    the configuration once at boot; the port's methods run it first if nobody did. Every
    method of the port raises the CallFailed subclasses listed in the module docstring.
    """

    system = SYSTEM

    def __init__(
        self,
        base_url: str,
        email: str,
        api_token: str,
        *,
        project: str,
        issue_type: str = "Task",
        group_field: str | None = None,
        conversation_field_id: str | None = None,
        summary_field_id: str | None = None,
        internal_visibility: Visibility | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        search_attempts: int = 4,
        search_delay: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.project = project
        self.issue_type = issue_type
        self.group_field = group_field
        self.conversation_field_id = conversation_field_id
        self.summary_field_id = summary_field_id
        self.internal_visibility = internal_visibility
        self.search_attempts = max(1, search_attempts)
        self.search_delay = search_delay
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=self.base_url,
            auth=(email, api_token),
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._started = False
        self._account_id: str | None = None
        self._service_project = False
        self._issue_type_id: str | None = None
        self._priorities: dict[Priority, str] = {}
        self._components: dict[str, str] = {}
        self._components_read_at = 0.0
        self._fields: dict[str, _Field] = {}
        # (issue type id, status id) -> the transitions Jira offers from there.
        self._transitions: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._own_comments: OrderedDict[str, None] = OrderedDict()
        self._created: dict[str, TicketRef] = {}  # idempotency key -> the issue it made
        self._uncertain: set[str] = set()  # keys whose create had an unknown outcome

    def __repr__(self) -> str:
        return f"JiraHelpDesk({self.base_url!r}, project={self.project!r})"  # Never the token.

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def __enter__(self) -> JiraHelpDesk:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the boot check

    @property
    def service_project(self) -> bool:
        """Whether the project is a Jira Service Management project (known after start)."""
        return self._service_project

    def start(self) -> None:
        """Check the credentials, project, issue type, priorities and fields; cache them.

        Raises JiraStartError, its message one line naming what to fix.
        """
        try:
            self._load()
        except CallFailed as failed:
            raise JiraStartError(
                f"Jira at {self.base_url} could not be checked: {failed.detail}"
            ) from None

    def _load(self) -> None:
        self._account_id = self._myself()
        try:
            project = answers.json(self._call("GET", f"{API}/project/{self.project}"))
        except NotFound:
            raise JiraStartError(
                f"Jira has no project with key {self.project!r} that this account can see "
                "(TICKETSYNC_JIRA_PROJECT)"
            ) from None
        self._service_project = project.get("projectTypeKey") == SERVICE_PROJECT
        types = [t for t in project.get("issueTypes") or [] if isinstance(t, dict)]
        found = [t for t in types if t.get("name") == self.issue_type]
        if not found:
            names = ", ".join(str(t.get("name")) for t in types) or "none"
            raise JiraStartError(
                f"Jira project {self.project} has no issue type {self.issue_type!r} "
                f"(TICKETSYNC_JIRA_ISSUE_TYPE); it has: {names}"
            )
        self._issue_type_id = str(found[0].get("id"))
        self._priorities = self._read_priorities()
        self._read_components()
        self._fields = self._read_fields()
        self._started = True
        logger.info(
            "jira.started",
            extra={
                "project": self.project,
                "service_project": self._service_project,
                "components": len(self._components),
            },
        )

    def _myself(self) -> str:
        try:
            me = answers.json(self._call("GET", f"{API}/myself"))
        except Permanent as refused:
            if refused.status in (401, 403):
                raise JiraStartError(
                    "Jira refused TICKETSYNC_JIRA_EMAIL and TICKETSYNC_JIRA_API_TOKEN "
                    f"({refused.detail})"
                ) from None
            raise
        account_id = me.get("accountId")
        if not isinstance(account_id, str) or not account_id:
            raise Retryable("Jira's /myself answer has no accountId", status=200)
        return account_id

    def _read_priorities(self) -> dict[Priority, str]:
        by_name: dict[str, str] = {}
        start = 0
        while True:
            page = answers.json(
                self._call(
                    "GET", f"{API}/priority/search", params={"startAt": start, "maxResults": 50}
                )
            )
            values = [v for v in page.get("values") or [] if isinstance(v, dict)]
            for value in values:
                if isinstance(value.get("name"), str):
                    by_name.setdefault(value["name"].lower(), value["name"])
            start += len(values)
            if page.get("isLast", True) or not values:
                break
        missing = [name for name in PRIORITY_TO_JIRA.values() if name.lower() not in by_name]
        if missing:
            raise JiraStartError(
                f"Jira has no priority named {', '.join(missing)}; ticketsync sends "
                "Low, Medium, High and Highest (rename the site's priorities to match)"
            )
        return {ours: by_name[theirs.lower()] for ours, theirs in PRIORITY_TO_JIRA.items()}

    def _read_components(self) -> None:
        components = answers.json_list(
            self._call("GET", f"{API}/project/{self.project}/components")
        )
        self._components = {
            c["name"]: str(c.get("id"))
            for c in components
            if isinstance(c, dict) and isinstance(c.get("name"), str)
        }
        self._components_read_at = time.monotonic()

    def _read_fields(self) -> dict[str, _Field]:
        wanted = [
            (variable, field_id)
            for variable, field_id in (
                ("TICKETSYNC_JIRA_GROUP_FIELD", self.group_field),
                ("TICKETSYNC_JIRA_CONVERSATION_FIELD_ID", self.conversation_field_id),
                ("TICKETSYNC_JIRA_SUMMARY_FIELD_ID", self.summary_field_id),
            )
            if field_id
        ]
        if not wanted:
            return {}
        path = f"{API}/issue/createmeta/{self.project}/issuetypes/{self._issue_type_id}"
        fields: dict[str, _Field] = {}
        start = 0
        while True:
            page = answers.json(
                self._call("GET", path, params={"startAt": start, "maxResults": 50})
            )
            values = page.get("fields", page.get("values")) or []
            values = [v for v in values if isinstance(v, dict)]
            for value in values:
                schema = value.get("schema") if isinstance(value.get("schema"), dict) else {}
                field_id = str(value.get("fieldId") or value.get("key") or "")
                fields[field_id] = _Field(
                    field_id, schema.get("type"), schema.get("custom"), schema.get("items")
                )
            start += len(values)
            total = page.get("total")
            if not values or not isinstance(total, int) or start >= total:
                break
        for variable, field_id in wanted:
            if field_id not in fields:
                raise JiraStartError(
                    f"Jira's create screen of {self.project} {self.issue_type} has no field "
                    f"{field_id!r} ({variable})"
                )
        return fields

    def _ready(self) -> None:
        if self._started:
            return
        try:
            self._load()
        except JiraStartError as wrong:
            raise Permanent(str(wrong)) from None

    def api_user_id(self) -> str:
        """The accountId ticketsync acts as, whose changes are its own. Raises CallFailed."""
        if self._account_id is None:
            self._account_id = self._myself()
        return self._account_id

    @property
    def known_account_id(self) -> str | None:
        """The accountId ticketsync acts as when it is known already (after `start`), without
        asking Jira."""
        return self._account_id

    def own_comment_ids(self) -> frozenset[str]:
        """The ids of the comments this adapter created (the newest 10,000)."""
        return frozenset(self._own_comments)

    # ------------------------------------------------------------------ the HelpDesk port

    def create_ticket(self, ticket: NewTicket, *, idempotency_key: str) -> TicketRef:
        """Create the issue of `ticket.external_id`, its description the summary note.

        A key whose earlier create had an unknown outcome looks for that issue first and
        answers with it when found. Raises CallFailed.
        """
        self._ready()
        if idempotency_key in self._created:
            return self._created[idempotency_key]
        if idempotency_key in self._uncertain:
            found = self._find_ours(ticket.external_id)
            if found:
                ref = found[-1]
                self._created[idempotency_key] = ref
                self._uncertain.discard(idempotency_key)
                logger.info(
                    "jira.create_found",
                    extra={"jira_issue_key": ref.id, "conversation_id": ticket.external_id},
                )
                return ref
        body = self._create_body(ticket)
        try:
            response = self._call("POST", f"{API}/issue", json=body)
        except OutcomeUnknown:
            self._uncertain.add(idempotency_key)
            raise
        created = answers.json(response)
        key = created.get("key")
        if not isinstance(key, str) or not key:
            self._uncertain.add(idempotency_key)
            raise OutcomeUnknown(
                f"Jira answered {response.status_code} without an issue key",
                status=response.status_code,
            )
        ref = self._named(key, self._status_of(key))
        self._created[idempotency_key] = ref
        self._uncertain.discard(idempotency_key)
        logger.info(
            "jira.issue_created",
            extra={"jira_issue_key": key, "conversation_id": ticket.external_id},
        )
        return ref

    def find_tickets(self, external_id: str) -> list[TicketRef]:
        """The issues of conversation `external_id`, oldest first. Raises CallFailed.

        Search lags behind a create, so an empty answer is asked again `search_attempts`
        times in all, `search_delay` seconds apart.
        """
        self._ready()
        return self._find_ours(external_id)

    def add_comment(self, ticket_id: str, comment: Comment) -> None:
        """Add a comment in ADF; a note is internal where the project allows it.

        The API posts as ticketsync's account, so the customer's words open with
        CUSTOMER_LEAD. A customer's comment on a done issue moves it out of done, as a help
        desk reopens a solved ticket when its requester writes, even when ticketsync was
        not told the issue was done; with `keep_status` (words written before the
        resolution) it stays where it is.

        Raises NotFound and the other CallFailed; a done issue takes comments like any other.
        """
        self._ready()
        body: dict[str, Any] = {"body": adf.to_adf(self._comment_text(comment))}
        if not comment.public:
            if self._service_project:
                body["properties"] = [{"key": INTERNAL_PROPERTY, "value": {"internal": True}}]
            elif self.internal_visibility is not None:
                body["visibility"] = self.internal_visibility.body()
        created = answers.json(
            self._call("POST", f"{API}/issue/{answers.key(ticket_id)}/comment", json=body)
        )
        comment_id = created.get("id")
        if comment_id is not None:
            self._own_comments[str(comment_id)] = None
            if len(self._own_comments) > OWN_COMMENTS_KEPT:
                self._own_comments.popitem(last=False)
        if comment.by_requester and comment.keep_status is None:
            self._reopen_if_done(answers.key(ticket_id))
        logger.info(
            "jira.comment_added",
            extra={
                "jira_issue_key": ticket_id,
                "comment_id": comment_id,
                "public": comment.public,
            },
        )

    def _reopen_if_done(self, key: str) -> None:
        issue = answers.json(
            self._call("GET", f"{API}/issue/{key}", params={"fields": "status,issuetype"})
        )
        status = answers.fields(issue).get("status")
        status = status if isinstance(status, dict) else {}
        category = status.get("statusCategory")
        if isinstance(category, dict) and category.get("key") == DONE:
            self._move(key, issue, status, "open")

    def has_comment(self, ticket_id: str, body: str) -> bool:
        """Whether the issue has a comment ticketsync would have written for `body`.

        Raises CallFailed.
        """
        self._ready()
        wanted = [
            adf.to_adf(text)
            for text in (body, f"{INTERNAL_LEAD}\n\n{body}", f"{CUSTOMER_LEAD}\n\n{body}")
        ]
        path = f"{API}/issue/{answers.key(ticket_id)}/comment"
        start = 0
        while True:
            page = answers.json(
                self._call(
                    "GET",
                    path,
                    params={"startAt": start, "maxResults": 100, "orderBy": "-created"},
                )
            )
            comments = [c for c in page.get("comments") or [] if isinstance(c, dict)]
            if any(c.get("body") in wanted for c in comments):
                return True
            start += len(comments)
            total = page.get("total")
            if not comments or not isinstance(total, int) or start >= total:
                return False

    def change_ticket(self, ticket_id: str, change: TicketChange) -> TicketRef:
        """Apply the fields `change` sets and move the issue to the status it asks for.

        Labels are added to the issue's own. A status is reached by a transition to a status
        of the right category (done for solved and closed, out of done for the others),
        none when the issue is already in one. Fields are edited while the issue is out of
        done: before a move into done, after a move out of it, since a workflow may make
        its done statuses read-only. Raises Permanent when the workflow offers no such
        transition, NotFound, and the other CallFailed.
        """
        self._ready()
        key = answers.key(ticket_id)
        fields, update = self._changed_fields(change)
        issue = answers.json(
            self._call("GET", f"{API}/issue/{key}", params={"fields": "status,issuetype"})
        )
        status = answers.fields(issue).get("status")
        status = status if isinstance(status, dict) else {}
        name = status.get("name") if isinstance(status.get("name"), str) else None
        edit_first = change.status is None or DONE in TARGET_CATEGORIES[change.status]
        if edit_first:
            self._edit(key, fields, update)
        if change.status is not None:
            name = self._move(key, issue, status, change.status)
        if not edit_first:
            self._edit(key, fields, update)
        logger.info(
            "jira.issue_changed",
            extra={"jira_issue_key": key, "fields": sorted({*fields, *update})},
        )
        # In ticketsync's words the issue now has the status asked for (Jira has no
        # `pending`: a status out of done stands for it).
        return TicketRef(
            system=SYSTEM, id=key, url=self._url(key), status=change.status, status_name=name
        )

    def _edit(self, key: str, fields: dict[str, Any], update: dict[str, Any]) -> None:
        if not (fields or update):
            return
        body: dict[str, Any] = {}
        if fields:
            body["fields"] = fields
        if update:
            body["update"] = update
        self._call("PUT", f"{API}/issue/{key}", json=body)

    # ------------------------------------------------------------------ request bodies

    def _create_body(self, ticket: NewTicket) -> dict[str, Any]:
        # projections/notes.py makes the subject `[intent] subject` already.
        summary = " ".join(ticket.subject.split())[:SUMMARY_MAX_CHARS]
        description = ticket.summary
        fields: dict[str, Any] = {
            "project": {"key": self.project},
            "issuetype": {"id": self._issue_type_id},
            "summary": summary,
            "priority": {"name": self._priorities[ticket.priority]},
            "labels": [*labels(ticket.tags), conversation_label(ticket.external_id)],
        }
        if ticket.group is not None:
            if self.group_field:
                fields[self.group_field] = self._field_value(self.group_field, ticket.group)
            else:
                component = self._component_id(ticket.group)
                if component is not None:
                    fields["components"] = [{"id": component}]
                else:
                    # Never a refused create: the issue is worth having without it.
                    description += (
                        f"\n\nGROUP: {ticket.group} (no component of that name in "
                        f"{self.project}, so none was set)"
                    )
        for field_id, value in (
            (self.conversation_field_id, ticket.external_id),
            (self.summary_field_id, ticket.summary),
        ):
            if field_id:
                fields[field_id] = self._field_value(field_id, value)
        fields["description"] = adf.to_adf(description)
        return {
            "fields": fields,
            # ref: Create issue. Entity properties can be set in the create call itself.
            "properties": [{"key": PROPERTY_KEY, "value": {"conversation_id": ticket.external_id}}],
        }

    def _field_value(self, field_id: str, text: str) -> Any:
        """`text` in the shape the custom field takes (ref: Create issue)."""
        field = self._fields.get(field_id)
        if field is None:
            return text
        if field.custom == _RICH_TEXT:
            return adf.to_adf(text)
        if field.schema_type == "option":
            return {"value": text}
        if field.schema_type == "array":
            return [{"value": text}] if field.items == "option" else labels([text])
        return text

    def _changed_fields(self, change: TicketChange) -> tuple[dict[str, Any], dict[str, Any]]:
        fields: dict[str, Any] = {}
        update: dict[str, Any] = {}
        if change.priority is not None:
            fields["priority"] = {"name": self._priorities[change.priority]}
        if change.assignee is not None:
            fields["assignee"] = {"accountId": change.assignee}
        if change.group is not None:
            if self.group_field:
                fields[self.group_field] = self._field_value(self.group_field, change.group)
            else:
                component = self._component_id(change.group)
                if component is not None:
                    fields["components"] = [{"id": component}]
        added = labels(change.add_tags)
        if added:
            # `update` adds to the issue's labels; `fields` would replace them all, the
            # conversation's label too.
            update["labels"] = [{"add": name} for name in added]
        return fields, update

    def _comment_text(self, comment: Comment) -> str:
        if comment.by_requester:
            return f"{CUSTOMER_LEAD}\n\n{comment.body}"
        if not comment.public and not self._service_project and self.internal_visibility is None:
            return f"{INTERNAL_LEAD}\n\n{comment.body}"
        return comment.body

    # ------------------------------------------------------------------ transitions

    def _move(
        self, key: str, issue: Mapping[str, Any], status: Mapping[str, Any], target: TicketStatus
    ) -> str | None:
        """Transition the issue into a status of `target`'s category; its name after."""
        categories = TARGET_CATEGORIES[target]
        category = status.get("statusCategory")
        current = category.get("key") if isinstance(category, dict) else None
        name = status.get("name") if isinstance(status.get("name"), str) else None
        if current in categories:
            return name  # already there: nothing to do, and nothing to echo
        issue_type = answers.fields(issue).get("issuetype")
        type_id = str(issue_type.get("id")) if isinstance(issue_type, dict) else "?"
        cache_key = (type_id, str(status.get("id")))
        transitions = self._transitions.get(cache_key)
        if transitions is None:
            answer = answers.json(self._call("GET", f"{API}/issue/{key}/transitions"))
            transitions = [t for t in answer.get("transitions") or [] if isinstance(t, dict)]
            self._transitions[cache_key] = transitions
        chosen = answers.pick(transitions, categories)
        if chosen is None:
            raise Permanent(
                f"Jira issue {key} (status {name!r}) offers no transition to a status in "
                f"category {' or '.join(categories)}; the workflow needs one for ticketsync "
                f"to set {target!r}"
            )
        try:
            self._call(
                "POST", f"{API}/issue/{key}/transitions", json={"transition": {"id": chosen["id"]}}
            )
        except Permanent:
            # The workflow may have changed since the transitions were read.
            self._transitions.pop(cache_key, None)
            raise
        to = chosen.get("to") if isinstance(chosen.get("to"), dict) else {}
        logger.info(
            "jira.issue_transitioned",
            extra={"jira_issue_key": key, "transition_id": chosen["id"], "status": to.get("name")},
        )
        return to.get("name") if isinstance(to.get("name"), str) else name

    # ------------------------------------------------------------------ lookups

    def _component_id(self, name: str) -> str | None:
        if name not in self._components and (
            time.monotonic() - self._components_read_at >= COMPONENT_REFRESH_SECONDS
        ):
            self._read_components()
        component = self._components.get(name)
        if component is None:
            logger.warning("jira.component_unknown", extra={"group_name": name})
        return component

    def _find_ours(self, external_id: str) -> list[TicketRef]:
        """Issues labelled for `external_id` whose property names it, oldest first."""
        for attempt in range(self.search_attempts):
            if attempt:
                self._sleep(self.search_delay)
            issues = list(self._search(conversation_label(external_id)))
            ours = [issue for issue in issues if self._names(issue["key"], external_id)]
            if ours:
                return [self._ref(issue) for issue in ours]
        return []

    def _search(self, label: str) -> Iterator[dict[str, Any]]:
        """Issues of the project with `label`, oldest first (ref: Search)."""
        jql = f"project = {answers.quoted(self.project)} AND labels = {answers.quoted(label)} ORDER BY created ASC"
        body: dict[str, Any] = {
            "jql": jql,
            "fields": ["status", "labels", "created"],
            "maxResults": SEARCH_PAGE,
        }
        seen: set[str] = set()
        while True:
            page = answers.json(self._call("POST", f"{API}/search/jql", json=body))
            for issue in page.get("issues") or []:
                if isinstance(issue, dict) and isinstance(issue.get("key"), str):
                    yield issue
            token = page.get("nextPageToken")
            if not isinstance(token, str) or not token or token in seen:
                return
            seen.add(token)
            body = {**body, "nextPageToken": token}

    def _names(self, key: str, external_id: str) -> bool:
        """Whether the issue's ticketsync property names conversation `external_id`."""
        try:
            answer = answers.json(self._call("GET", f"{API}/issue/{key}/properties/{PROPERTY_KEY}"))
        except NotFound:
            return False  # labelled by someone else: not ours
        value = answer.get("value")
        return isinstance(value, dict) and value.get("conversation_id") == external_id

    def _status_of(self, key: str) -> Mapping[str, Any]:
        """The new issue's status, or {}: a failure here must not fail the create."""
        try:
            issue = answers.json(
                self._call("GET", f"{API}/issue/{key}", params={"fields": "status"})
            )
        except CallFailed:
            return {}
        status = answers.fields(issue).get("status")
        return status if isinstance(status, dict) else {}

    def _named(self, key: str, status: Mapping[str, Any]) -> TicketRef:
        """The issue as a TicketRef: its status in ticketsync's words (by the status's
        category) and by Jira's own name."""
        name = status.get("name")
        category = status.get("statusCategory")
        category_key = category.get("key") if isinstance(category, dict) else None
        return TicketRef(
            system=SYSTEM,
            id=key,
            url=self._url(key),
            status=CATEGORY_STATUS.get(category_key) if isinstance(category_key, str) else None,
            status_name=name if isinstance(name, str) else None,
        )

    # ------------------------------------------------------------------ HTTP

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send one request; return a 2xx response or raise the CallFailed it amounts to."""
        started = time.monotonic()
        try:
            response = self._client.request(method, path, params=params, json=json)
        except httpx.RequestError as error:
            failure = answers.transport_failure(error)
            logger.warning(
                "jira.request_failed",
                extra={
                    "method": method,
                    "path": path,
                    "error": type(error).__name__,
                    "outcome": type(failure).__name__,
                },
            )
            raise failure from error
        elapsed_ms = round((time.monotonic() - started) * 1000)
        fields = {"method": method, "path": path, "status": response.status_code}
        if response.is_success:
            logger.debug("jira.request", extra={**fields, "duration_ms": elapsed_ms})
            return response
        failure = answers.http_failure(response)
        logger.warning(
            "jira.request_refused",
            extra={**fields, "duration_ms": elapsed_ms, "outcome": type(failure).__name__},
        )
        raise failure

    def _url(self, key: str) -> str:
        return f"{self.base_url}/browse/{key}"

    def _ref(self, issue: Mapping[str, Any]) -> TicketRef:
        status = answers.fields(issue).get("status")
        return self._named(issue["key"], status if isinstance(status, dict) else {})
