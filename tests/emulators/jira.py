"""In-memory emulator of the Jira Cloud REST API v3 endpoints ticketsync uses, for tests.

Behaviour follows reference/jira.md, cited below as "ref: <section>". Where the reference is
silent the emulator still has to answer something; those answers are marked "emulator
wording" or "emulator choice".

    emulator = JiraEmulator(email="bot@example.com", api_token="secret")
    with serve(emulator) as base_url:
        with httpx.Client(base_url=base_url, auth=emulator.auth) as client:
            client.get("/rest/api/3/myself")

Tests steer it with fail_next(), drop_after_commit() and search_lag, play a person on the
Jira side with act_as_agent(), and read what happened with issues(), comments(), requests()
and deliveries(): every comment and status change (ticketsync's own too) makes the webhook
delivery Jira would send, signed when a webhook secret is set, its comment body a
wiki-markup string as Jira sends it (ref: Webhooks).

Workflows differ per issue type, with different transition ids, so a client has to read
the transitions instead of knowing them:

    Task    To Do (new) / In Progress (indeterminate) / Done (done), any to any: 11, 21, 31
    Bug     Open -101-> In Review -103-> Resolved -104-> Reopened; Open and Reopened -102->
            Resolved; Reopened -101-> In Review
    Record  Open -201-> Archived, and nothing leaves Archived
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import anyio
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

__all__ = ["AGENT_ACCOUNT_ID", "JiraEmulator", "RecordedRequest", "serve"]

AGENT_ACCOUNT_ID = "5b10ac8d82e05b22cc7d4ef5"
API = "/rest/api/3"
DEFAULT_PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
DEFAULT_COMPONENTS = ("Billing Team", "Engineering", "Support Tier 1")
_POLL_INTERVAL = 0.05


@dataclass(frozen=True)
class _Status:
    id: str
    name: str
    category: str  # new | indeterminate | done


@dataclass(frozen=True)
class _Transition:
    id: str
    name: str
    to: str  # status id
    sources: tuple[str, ...] | None  # None: from any status


_STATUSES = {
    s.id: s
    for s in (
        _Status("10000", "To Do", "new"),
        _Status("3", "In Progress", "indeterminate"),
        _Status("10001", "Done", "done"),
        _Status("1", "Open", "new"),
        _Status("10010", "In Review", "indeterminate"),
        _Status("5", "Resolved", "done"),
        _Status("4", "Reopened", "new"),
        _Status("10020", "Archived", "done"),
    )
}
# Issue type name -> (id, initial status id, transitions).
_WORKFLOWS: dict[str, tuple[str, str, tuple[_Transition, ...]]] = {
    "Task": (
        "10001",
        "10000",
        (
            _Transition("11", "To Do", "10000", None),
            _Transition("21", "In Progress", "3", None),
            _Transition("31", "Done", "10001", None),
        ),
    ),
    "Bug": (
        "10004",
        "1",
        (
            _Transition("101", "Start review", "10010", ("1", "4")),
            _Transition("102", "Resolve", "5", ("1", "4")),
            _Transition("103", "Approve", "5", ("10010",)),
            _Transition("104", "Reopen", "4", ("5",)),
        ),
    ),
    "Record": ("10005", "1", (_Transition("201", "Archive", "10020", ("1",)),)),
}


class ApiError(Exception):
    """An error answer in Jira's shape ({"errorMessages": [...], "errors": {...}})."""

    def __init__(
        self,
        status: int,
        messages: Sequence[str] = (),
        errors: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {messages} {errors}")
        self.status = status
        self.body = {"errorMessages": list(messages), "errors": dict(errors or {})}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    json: Any
    received_at: float


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Any = None  # None: no body (204)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Rule:
    method: str | None
    path: re.Pattern[str] | None
    remaining: int
    reply: _Reply | None = None

    def matches(self, request: RecordedRequest) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        return self.path is None or self.path.fullmatch(request.path) is not None


@dataclass
class _Comment:
    id: str
    author: str
    body: Any  # ADF
    jsd_public: bool | None
    visibility: dict[str, Any] | None
    created: float


@dataclass
class _Issue:
    id: str
    key: str
    type: str
    status: str
    fields: dict[str, Any]
    properties: dict[str, Any]
    created: float
    created_search_calls: int
    comments: list[_Comment] = field(default_factory=list)


class JiraEmulator:
    """One Jira Cloud site with one project, in memory, served by `app`.

    Uvicorn serves `app` on its own thread while tests read state from theirs, so every
    access to state holds `_lock`, never across an `await`.
    """

    def __init__(
        self,
        *,
        email: str = "ticketsync@example.com",
        api_token: str = "emulator-token",
        project: str = "OPS",
        service_desk: bool = False,
        priorities: Sequence[str] = DEFAULT_PRIORITIES,
        components: Sequence[str] = DEFAULT_COMPONENTS,
        custom_fields: Mapping[str, Mapping[str, Any]] | None = None,
        roles: Sequence[str] = ("Administrators", "Developers"),
        webhook_secret: str | None = None,
        search_lag: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.email = email
        self.api_token = api_token
        self.project = project
        self.service_desk = service_desk
        self.priorities = {str(i): name for i, name in enumerate(priorities, start=1)}
        self.components = {str(10_000 + i): name for i, name in enumerate(components)}
        # id -> schema, e.g. {"type": "string", "custom": "...:textfield"}
        self.custom_fields = dict(custom_fields or {})
        self.roles = tuple(roles)
        self.webhook_secret = webhook_secret
        # Search is eventually consistent (ref: Never duplicating a create): a new issue is
        # missing from the next `search_lag` searches, or for `search_lag_seconds`.
        self.search_lag = search_lag
        self.search_lag_seconds = 0.0
        self.account_id = "712020:ticketsync-bot"
        self.base_url = "https://ticketsync.atlassian.net"
        self._clock = clock
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._issue_numbers = itertools.count(1)
        self._ids = itertools.count(10_000)
        self._comment_ids = itertools.count(10_100)
        self._deliveries = itertools.count(1)
        self._issues: dict[str, _Issue] = {}
        self._requests: list[RecordedRequest] = []
        self._failures: list[_Rule] = []
        self._drops: list[_Rule] = []
        self._late_failures: list[_Rule] = []
        self._search_calls = 0
        self._outbox: list[tuple[bytes, dict[str, str]]] = []
        self.app = Starlette(
            routes=self._routes(), exception_handlers={HTTPException: self._unrouted}
        )

    # ------------------------------------------------------------------ test controls

    @property
    def auth(self) -> tuple[str, str]:
        """Basic auth as email and API token (ref: Auth)."""
        return (self.email, self.api_token)

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        retry_after: int | str | None = None,
        body: Any = None,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next n matching requests with `status`, without processing them."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        if body is None:
            phrase = HTTPStatus(status).phrase
            body = {"errorMessages": [phrase], "errors": {}}  # Emulator wording.
        rule = _Rule(_method(method), _pattern(path), n, _Reply(status, body, headers))
        with self._lock:
            self._failures.append(rule)

    def drop_after_commit(
        self, n: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Process the next n matching requests fully, then never answer them."""
        with self._lock:
            self._drops.append(_Rule(_method(method), _pattern(path), n))

    def fail_after_commit(
        self, n: int = 1, status: int = 502, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Process the next n matching requests fully, then answer them with `status`.

        What a gateway's 502 or 504 after Jira applied the request looks like to a client.
        """
        phrase = HTTPStatus(status).phrase
        reply = _Reply(status, {"errorMessages": [phrase], "errors": {}})  # Emulator wording.
        with self._lock:
            self._late_failures.append(_Rule(_method(method), _pattern(path), n, reply))

    def issues(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._render_issue(issue) for issue in self._issues.values()]

    def issue(self, key: str) -> dict[str, Any]:
        with self._lock:
            return self._render_issue(self._issues[key])

    def properties(self, key: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._issues[key].properties)

    def comments(self, key: str) -> list[dict[str, Any]]:
        with self._lock:
            return [self._render_comment(c) for c in self._issues[key].comments]

    def requests(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        pattern = _pattern(path)
        with self._lock:
            return [
                r
                for r in self._requests
                if (method is None or r.method == method.upper())
                and (pattern is None or pattern.fullmatch(r.path))
            ]

    def creates(self) -> list[RecordedRequest]:
        return self.requests("POST", f"{API}/issue")

    def deliveries(self) -> list[tuple[bytes, dict[str, str]]]:
        """Take the webhook deliveries made since the last call: (raw body, headers)."""
        with self._lock:
            taken, self._outbox = self._outbox, []
            return taken

    def act_as_agent(
        self,
        key: str,
        *,
        comment: str | None = None,
        internal: bool = False,
        status: str | None = None,
        account_id: str = AGENT_ACCOUNT_ID,
    ) -> None:
        """A person on the Jira side comments (wiki markup) and/or moves the issue to `status`.

        The move goes through a transition the workflow offers, as in Jira's UI.
        """
        with self._lock:
            issue = self._issues[key]
            if comment is not None:
                body = {
                    "type": "doc",
                    "version": 1,
                    "content": [
                        {"type": "paragraph", "content": [{"type": "text", "text": line}]}
                        for line in comment.split("\n")
                        if line
                    ],
                }
                self._add_comment(
                    issue,
                    account_id,
                    body,
                    internal=internal,
                    visibility=None,
                    wiki=comment,
                )
            if status is not None:
                target = next(s for s in _STATUSES.values() if s.name == status)
                offered = [t for t in self._offered(issue) if t.to == target.id]
                if not offered:
                    raise ValueError(f"{key} cannot move to {status} from its status")
                self._transition(issue, offered[0], account_id)

    # ------------------------------------------------------------------ routing

    def _routes(self) -> list[Route]:
        table: list[tuple[str, str, Callable[[Request, Any], _Reply]]] = [
            ("/myself", "GET", self._myself),
            ("/project/{key}", "GET", self._project),
            ("/project/{key}/components", "GET", self._components),
            ("/priority/search", "GET", self._priorities),
            ("/issue/createmeta/{key}/issuetypes/{type_id}", "GET", self._createmeta),
            ("/issue", "POST", self._create),
            ("/issue/{key}", "GET", self._get_issue),
            ("/issue/{key}", "PUT", self._edit_issue),
            ("/issue/{key}/comment", "GET", self._list_comments),
            ("/issue/{key}/comment", "POST", self._post_comment),
            ("/issue/{key}/transitions", "GET", self._list_transitions),
            ("/issue/{key}/transitions", "POST", self._do_transition),
            ("/issue/{key}/properties/{prop}", "GET", self._get_property),
            ("/issue/{key}/properties/{prop}", "PUT", self._put_property),
            ("/search/jql", "POST", self._search),
            ("/search", "POST", self._search_removed),
            ("/search", "GET", self._search_removed),
        ]
        return [
            Route(API + path, self._endpoint(operation), methods=[method])
            for path, method, operation in table
        ]

    def _endpoint(self, operation: Callable[[Request, Any], _Reply]) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            return await self._handle(request, operation)

        return endpoint

    async def _unrouted(self, request: Request, exc: Exception) -> Response:
        def refuse(_request: Request, _payload: Any) -> _Reply:
            raise ApiError(404, ["Not Found"])  # Emulator wording.

        return await self._handle(request, refuse)

    async def _handle(
        self, request: Request, operation: Callable[[Request, Any], _Reply]
    ) -> Response:
        raw = await request.body()
        try:
            payload = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            payload = ...
        with self._lock:
            recorded = RecordedRequest(
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                headers=dict(request.headers.items()),
                json=None if payload is ... else payload,
                received_at=self._clock(),
            )
            self._requests.append(recorded)
            failure = _take(self._failures, recorded)
            drop = _take(self._drops, recorded) if failure is None else None
            late = _take(self._late_failures, recorded) if failure is None else None
            if failure is not None and failure.reply is not None:
                reply = failure.reply
            else:
                self.base_url = str(request.base_url).rstrip("/")
                try:
                    self._authenticate(recorded.headers.get("authorization", ""))
                    if payload is ...:
                        raise ApiError(400, ["Unexpected character in the JSON body"])
                    reply = operation(request, payload)
                except ApiError as error:
                    reply = _Reply(error.status, error.body)
                if late is not None and late.reply is not None:
                    reply = late.reply
        if drop is not None:
            return _WithheldAnswer(self._stopping)
        return _render(reply)

    def _authenticate(self, header: str) -> None:
        # ref: Auth. Basic with the account's email and an API token.
        scheme, _, encoded = header.partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        email, _, token = decoded.partition(":")
        if scheme.lower() != "basic" or not (
            hmac.compare_digest(email, self.email) and hmac.compare_digest(token, self.api_token)
        ):
            # Emulator wording, after what Jira Cloud answers an unauthenticated call.
            raise ApiError(401, ["Client must be authenticated to access this resource."])

    # ------------------------------------------------------------------ site and project

    def _myself(self, request: Request, payload: Any) -> _Reply:
        return _Reply(
            200,
            {
                "accountId": self.account_id,
                "accountType": "atlassian",
                "emailAddress": self.email,
                "displayName": "ticketsync",
                "active": True,
            },
        )

    def _project_or_404(self, key: str) -> None:
        if key != self.project:
            # Emulator wording, after Jira's answer for an unknown or hidden project.
            raise ApiError(404, [f"No project could be found with key '{key}'."])

    def _project(self, request: Request, payload: Any) -> _Reply:
        self._project_or_404(request.path_params["key"])
        return _Reply(
            200,
            {
                "id": "10000",
                "key": self.project,
                "name": "Operations",
                "projectTypeKey": "service_desk" if self.service_desk else "software",
                "issueTypes": [
                    {"id": type_id, "name": name} for name, (type_id, _, _) in _WORKFLOWS.items()
                ],
            },
        )

    def _components(self, request: Request, payload: Any) -> _Reply:
        self._project_or_404(request.path_params["key"])
        return _Reply(200, [{"id": i, "name": n} for i, n in self.components.items()])

    def _priorities(self, request: Request, payload: Any) -> _Reply:
        start = int(request.query_params.get("startAt", 0))
        size = int(request.query_params.get("maxResults", 2))
        values = [{"id": i, "name": n} for i, n in self.priorities.items()]
        page = values[start : start + size]
        return _Reply(
            200,
            {
                "startAt": start,
                "maxResults": size,
                "total": len(values),
                "isLast": start + size >= len(values),
                "values": page,
            },
        )

    def _createmeta(self, request: Request, payload: Any) -> _Reply:
        self._project_or_404(request.path_params["key"])
        fields = [
            {
                "fieldId": "summary",
                "name": "Summary",
                "required": True,
                "schema": {"type": "string"},
            },
            {
                "fieldId": "labels",
                "name": "Labels",
                "required": False,
                "schema": {"type": "array", "items": "string"},
            },
            *(
                {"fieldId": field_id, "name": field_id, "required": False, "schema": dict(schema)}
                for field_id, schema in self.custom_fields.items()
            ),
        ]
        return _Reply(200, {"startAt": 0, "maxResults": 50, "total": len(fields), "fields": fields})

    # ------------------------------------------------------------------ issues

    def _create(self, request: Request, payload: Any) -> _Reply:
        if not isinstance(payload, dict) or not isinstance(payload.get("fields"), dict):
            raise ApiError(400, ["fields is required"])  # Emulator wording.
        data = payload["fields"]
        errors: dict[str, str] = {}
        project = data.get("project") or {}
        if project.get("key") != self.project and project.get("id") != "10000":
            errors["project"] = "valid project is required"
        issue_type = _issue_type(data.get("issuetype") or {})
        if issue_type is None:
            errors["issuetype"] = "valid issue type is required"
        if not isinstance(data.get("summary"), str) or not data["summary"].strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(data["summary"]) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        fields: dict[str, Any] = {"summary": data.get("summary"), "labels": []}
        if "description" in data:
            if _adf_problem(data["description"]):
                errors["description"] = _adf_problem(data["description"]) or ""
            fields["description"] = data["description"]
        self._check_common(data, fields, errors)
        if errors:
            raise ApiError(400, [], errors)
        assert issue_type is not None
        _, initial, _ = _WORKFLOWS[issue_type]
        number = next(self._issue_numbers)
        issue = _Issue(
            id=str(next(self._ids)),
            key=f"{self.project}-{number}",
            type=issue_type,
            status=initial,
            fields=fields,
            properties={},
            created=self._clock(),
            created_search_calls=self._search_calls,
        )
        for prop in payload.get("properties") or []:
            # ref: Create issue. Top-level properties are set with the issue.
            issue.properties[prop["key"]] = prop["value"]
        self._issues[issue.key] = issue
        return _Reply(
            201,
            {"id": issue.id, "key": issue.key, "self": f"{self.base_url}{API}/issue/{issue.id}"},
        )

    def _check_common(
        self, data: Mapping[str, Any], fields: dict[str, Any], errors: dict[str, str]
    ) -> None:
        """The fields create and edit share: labels, priority, components, assignee, custom."""
        if "labels" in data:
            labels = data["labels"]
            for label in labels if isinstance(labels, list) else [labels]:
                if not isinstance(label, str) or re.search(r"\s", label):
                    # ref: Create issue.
                    errors["labels"] = f"The label '{label}' contains spaces which is invalid."
            fields["labels"] = list(labels) if isinstance(labels, list) else []
        if "priority" in data:
            wanted = data["priority"] or {}
            found = [
                i
                for i, n in self.priorities.items()
                if wanted.get("id") == i or wanted.get("name") == n
            ]
            if not found:
                errors["priority"] = (
                    "Specify a valid 'id' or 'name' for Priority"  # Emulator wording.
                )
            else:
                fields["priority"] = found[0]
        if "components" in data:
            ids = []
            for component in data["components"] or []:
                match = [
                    i
                    for i, n in self.components.items()
                    if component.get("id") == i or component.get("name") == n
                ]
                if not match:
                    name = component.get("name") or component.get("id")
                    errors["components"] = f"Component name '{name}' is not valid"  # ref.
                else:
                    ids.append(match[0])
            fields["components"] = ids
        if "assignee" in data:
            fields["assignee"] = (data["assignee"] or {}).get("accountId")
        for name, value in data.items():
            if name.startswith("customfield_"):
                schema = self.custom_fields.get(name)
                if schema is None:
                    errors[name] = (
                        f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
                    )
                elif schema.get("custom", "").endswith(":textarea") and _adf_problem(value):
                    errors[name] = "Operation value must be an Atlassian Document."
                elif (
                    schema.get("type") == "string"
                    and not schema.get("custom", "").endswith(":textarea")
                    and not isinstance(value, str)
                ):
                    errors[name] = "Operation value must be a string"
                elif schema.get("type") == "option" and not (
                    isinstance(value, dict) and "value" in value
                ):
                    errors[name] = "Specify a valid 'id' or 'name' for the option"
                fields[name] = value

    def _issue_or_404(self, key: str) -> _Issue:
        issue = self._issues.get(key)
        if issue is None:
            raise ApiError(404, ["Issue does not exist or you do not have permission to see it."])
        return issue

    def _get_issue(self, request: Request, payload: Any) -> _Reply:
        issue = self._issue_or_404(request.path_params["key"])
        rendered = self._render_issue(issue)
        wanted = request.query_params.get("fields")
        if wanted:
            names = set(wanted.split(","))
            rendered["fields"] = {k: v for k, v in rendered["fields"].items() if k in names}
        return _Reply(200, rendered)

    def _edit_issue(self, request: Request, payload: Any) -> _Reply:
        issue = self._issue_or_404(request.path_params["key"])
        if not isinstance(payload, dict):
            raise ApiError(400, ["body is required"])
        data = payload.get("fields") or {}
        changes: dict[str, Any] = {}
        errors: dict[str, str] = {}
        self._check_common(data, changes, errors)
        for op in (payload.get("update") or {}).get("labels", []):
            label = op.get("add")
            if label is not None:
                if re.search(r"\s", label):
                    errors["labels"] = f"The label '{label}' contains spaces which is invalid."
                current = changes.setdefault("labels", list(issue.fields.get("labels", [])))
                if label not in current:
                    current.append(label)
        if errors:
            raise ApiError(400, [], errors)
        issue.fields.update(changes)
        return _Reply(204)

    def _get_property(self, request: Request, payload: Any) -> _Reply:
        issue = self._issue_or_404(request.path_params["key"])
        prop = request.path_params["prop"]
        if prop not in issue.properties:
            raise ApiError(404, [f"The property with key '{prop}' does not exist."])
        return _Reply(200, {"key": prop, "value": issue.properties[prop]})

    def _put_property(self, request: Request, payload: Any) -> _Reply:
        issue = self._issue_or_404(request.path_params["key"])
        created = request.path_params["prop"] not in issue.properties
        issue.properties[request.path_params["prop"]] = payload
        return _Reply(201 if created else 200, {})

    # ------------------------------------------------------------------ comments

    def _post_comment(self, request: Request, payload: Any) -> _Reply:
        issue = self._issue_or_404(request.path_params["key"])
        if not isinstance(payload, dict) or _adf_problem(payload.get("body")):
            problem = _adf_problem(payload.get("body") if isinstance(payload, dict) else None)
            raise ApiError(400, [], {"comment": problem or "Comment body can not be empty!"})
        internal = False
        for prop in payload.get("properties") or []:
            if prop.get("key") == "sd.public.comment":
                if not self.service_desk:
                    # Emulator choice: a software project has no internal comments.
                    raise ApiError(400, ["Internal comments are only allowed on service projects."])
                internal = bool((prop.get("value") or {}).get("internal"))
        visibility = payload.get("visibility")
        if (
            visibility is not None
            and visibility.get("type") == "role"
            and visibility.get("value") not in self.roles
        ):
            raise ApiError(
                400, [], {"commentLevel": "You are currently not a member of the project role"}
            )
        comment = self._add_comment(
            issue, self.account_id, payload["body"], internal=internal, visibility=visibility
        )
        return _Reply(201, self._render_comment(comment))

    def _add_comment(
        self,
        issue: _Issue,
        author: str,
        body: Any,
        *,
        internal: bool,
        visibility: dict[str, Any] | None,
        wiki: str | None = None,
    ) -> _Comment:
        comment = _Comment(
            id=str(next(self._comment_ids)),
            author=author,
            body=body,
            jsd_public=(not internal) if self.service_desk else None,
            visibility=visibility,
            created=self._clock(),
        )
        issue.comments.append(comment)
        # ref: Webhooks. The delivery's body is the v2 representation: wiki markup.
        rendered = self._render_comment(comment)
        rendered["body"] = wiki if wiki is not None else _adf_as_wiki(body)
        self._deliver(
            "comment_created",
            {
                "comment": rendered,
                "issue": {
                    "id": issue.id,
                    "key": issue.key,
                    "self": f"{self.base_url}{API}/issue/{issue.id}",
                    "fields": {
                        "summary": issue.fields.get("summary"),
                        "status": self._render_status(issue.status),
                    },
                },
            },
        )
        return comment

    def _list_comments(self, request: Request, payload: Any) -> _Reply:
        issue = self._issue_or_404(request.path_params["key"])
        start = int(request.query_params.get("startAt", 0))
        size = min(int(request.query_params.get("maxResults", 50)), 100)
        comments = list(issue.comments)
        if request.query_params.get("orderBy") == "-created":
            comments.reverse()
        page = comments[start : start + size]
        return _Reply(
            200,
            {
                "startAt": start,
                "maxResults": size,
                "total": len(comments),
                "comments": [self._render_comment(c) for c in page],
            },
        )

    # ------------------------------------------------------------------ transitions

    def _offered(self, issue: _Issue) -> list[_Transition]:
        _, _, transitions = _WORKFLOWS[issue.type]
        return [
            t
            for t in transitions
            if (t.sources is None or issue.status in t.sources) and t.to != issue.status
        ]

    def _list_transitions(self, request: Request, payload: Any) -> _Reply:
        issue = self._issue_or_404(request.path_params["key"])
        return _Reply(
            200,
            {
                "transitions": [
                    {"id": t.id, "name": t.name, "to": self._render_status(t.to)}
                    for t in self._offered(issue)
                ]
            },
        )

    def _do_transition(self, request: Request, payload: Any) -> _Reply:
        issue = self._issue_or_404(request.path_params["key"])
        wanted = ((payload or {}).get("transition") or {}).get("id")
        offered = [t for t in self._offered(issue) if t.id == str(wanted)]
        if not offered:
            # Emulator wording, after Jira's answer to a transition the status does not offer.
            raise ApiError(400, [f"Transition id '{wanted}' is not valid for this issue."])
        self._transition(issue, offered[0], self.account_id)
        return _Reply(204)

    def _transition(self, issue: _Issue, transition: _Transition, actor: str) -> None:
        before = _STATUSES[issue.status]
        issue.status = transition.to
        after = _STATUSES[issue.status]
        self._deliver(
            "jira:issue_updated",
            {
                "issue_event_type_name": "issue_generic",
                "user": {"accountId": actor, "displayName": _display_name(actor, self.account_id)},
                "issue": self._render_issue(issue),
                "changelog": {
                    "id": str(next(self._ids)),
                    "items": [
                        {
                            "field": "status",
                            "fieldtype": "jira",
                            "fieldId": "status",
                            "from": before.id,
                            "fromString": before.name,
                            "to": after.id,
                            "toString": after.name,
                        }
                    ],
                },
            },
        )

    # ------------------------------------------------------------------ search

    def _search(self, request: Request, payload: Any) -> _Reply:
        jql = (payload or {}).get("jql", "")
        # Only the form ticketsync sends: project = "X" AND labels = "Y" [ORDER BY created ASC].
        match = re.fullmatch(
            r'project = "([^"]+)" AND labels = "((?:[^"\\]|\\.)+)"(?: ORDER BY created ASC)?', jql
        )
        if match is None:
            raise ApiError(400, [f"Emulator cannot read the JQL: {jql}"])  # Emulator wording.
        self._search_calls += 1
        now = self._clock()
        label = re.sub(r"\\(.)", r"\1", match[2])
        found = [
            issue
            for issue in self._issues.values()
            if match[1] == self.project
            and label in issue.fields.get("labels", [])
            and self._search_calls - issue.created_search_calls > self.search_lag
            and now - issue.created >= self.search_lag_seconds
        ]
        found.sort(key=lambda issue: issue.created)
        size = int((payload or {}).get("maxResults", 50))
        start = int((payload or {}).get("nextPageToken") or 0)
        page = found[start : start + size]
        body: dict[str, Any] = {"issues": [self._render_issue(i) for i in page]}
        if start + size < len(found):
            body["nextPageToken"] = str(start + size)
        return _Reply(200, body)

    def _search_removed(self, request: Request, payload: Any) -> _Reply:
        # ref: Search. The old endpoint was removed after 1 August 2025.
        raise ApiError(
            410, ["The requested API has been removed. Please use /rest/api/3/search/jql."]
        )

    # ------------------------------------------------------------------ rendering

    def _render_status(self, status_id: str) -> dict[str, Any]:
        status = _STATUSES[status_id]
        return {
            "id": status.id,
            "name": status.name,
            "statusCategory": {"key": status.category},
        }

    def _render_issue(self, issue: _Issue) -> dict[str, Any]:
        type_id = _WORKFLOWS[issue.type][0]
        fields = dict(issue.fields)
        if "priority" in fields:
            fields["priority"] = {
                "id": fields["priority"],
                "name": self.priorities[fields["priority"]],
            }
        if "components" in fields:
            fields["components"] = [
                {"id": i, "name": self.components[i]} for i in fields["components"]
            ]
        fields["status"] = self._render_status(issue.status)
        fields["issuetype"] = {"id": type_id, "name": issue.type}
        return {
            "id": issue.id,
            "key": issue.key,
            "self": f"{self.base_url}{API}/issue/{issue.id}",
            "fields": fields,
        }

    def _render_comment(self, comment: _Comment) -> dict[str, Any]:
        author = {
            "accountId": comment.author,
            "displayName": _display_name(comment.author, self.account_id),
            "accountType": "atlassian",
        }
        rendered: dict[str, Any] = {
            "id": comment.id,
            "author": author,
            "updateAuthor": author,
            "body": comment.body,
            "created": datetime.fromtimestamp(comment.created, UTC).isoformat(),
        }
        if comment.jsd_public is not None:
            rendered["jsdPublic"] = comment.jsd_public
        if comment.visibility is not None:
            rendered["visibility"] = comment.visibility
        return rendered

    def _deliver(self, event: str, payload: dict[str, Any]) -> None:
        body = orjson.dumps(
            {"timestamp": int(self._clock() * 1000), "webhookEvent": event, **payload}
        )
        headers = {
            "X-Atlassian-Webhook-Identifier": str(next(self._deliveries)),
            "Content-Type": "application/json",
        }
        if self.webhook_secret is not None:
            digest = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature"] = f"sha256={digest}"
        self._outbox.append((body, headers))


class _WithheldAnswer(Response):
    """A response that never comes: nothing is sent until the client hangs up."""

    def __init__(self, stopping: threading.Event) -> None:
        super().__init__(status_code=503)
        self._stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        while not self._stopping.is_set():
            with anyio.move_on_after(_POLL_INTERVAL):
                if (await receive())["type"] == "http.disconnect":
                    return
        await _render(
            _Reply(503, {"errorMessages": ["emulator stopped"]}, {"Connection": "close"})
        )(scope, receive, send)


@contextmanager
def serve(emulator: JiraEmulator, *, startup_timeout: float = 5.0) -> Iterator[str]:
    """Serve the emulator with uvicorn on 127.0.0.1 in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        emulator.app, http="h11", lifespan="off", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="jira-emulator", daemon=True
    )
    emulator._stopping.clear()
    emulator.base_url = base_url
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            thread.join(timeout=0.01)
        if not server.started:
            raise RuntimeError(f"Jira emulator did not start on {base_url}")
        yield base_url
    finally:
        emulator._stopping.set()
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        sock.close()


# ---------------------------------------------------------------------- helpers


def _method(method: str | None) -> str | None:
    return method.upper() if method else None


def _pattern(path: str | None) -> re.Pattern[str] | None:
    return re.compile(path) if path is not None else None


def _take(rules: list[_Rule], request: RecordedRequest) -> _Rule | None:
    for rule in rules:
        if rule.matches(request):
            rule.remaining -= 1
            if rule.remaining <= 0:
                rules.remove(rule)
            return rule
    return None


def _render(reply: _Reply) -> Response:
    if reply.body is None:
        return Response(status_code=reply.status, headers=dict(reply.headers))
    return Response(
        orjson.dumps(reply.body),
        status_code=reply.status,
        headers=dict(reply.headers),
        media_type="application/json",
    )


def _issue_type(value: Mapping[str, Any]) -> str | None:
    for name, (type_id, _, _) in _WORKFLOWS.items():
        if value.get("id") == type_id or value.get("name") == name:
            return name
    return None


def _adf_problem(document: Any) -> str | None:
    """What is wrong with an ADF document, or None (ref: ADF)."""
    if (
        not isinstance(document, dict)
        or document.get("type") != "doc"
        or document.get("version") != 1
    ):
        return "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
    stack = list(document.get("content") or [])
    while stack:
        node = stack.pop()
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            return "INVALID_INPUT"
        if node["type"] == "text":
            if not isinstance(node.get("text"), str) or not node["text"]:
                return "INVALID_INPUT: text node must not be empty"
            if "\n" in node["text"]:
                pass  # Accepted; Jira renders it as a space (ref: ADF).
        stack.extend(node.get("content") or [])
    return None


def _adf_as_wiki(document: Any) -> str:
    """The wiki-markup string a webhook carries for an ADF body (plain paragraphs only)."""
    lines = []
    for block in (document or {}).get("content") or []:
        lines.append("".join(n.get("text", "") for n in block.get("content") or []))
    return "\n".join(lines)


def _display_name(account_id: str, ours: str) -> str:
    return "ticketsync" if account_id == ours else "Avery Agent"
