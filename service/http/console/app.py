"""The console's pages and forms under /ui: an application of its own, in front of the API's
router as the webhook targets are, with its own sign-in and its own (HTML) error pages.

Every answer under /ui, error pages and static files included, carries SECURITY_HEADERS.
A page asks for a signed-in session (session.py) and sends a visitor without one to the
sign-in form (303), which returns them to the page they asked for. A POST that changes
something carries the session's CSRF token, or it is refused (403).
"""

from __future__ import annotations

import base64
import binascii
import importlib.resources
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketsync.events.errors import Refused, StoreUnavailable
from ticketsync.service.bootstrap import Container
from ticketsync.service.http import addresses
from ticketsync.service.http.console import conversation_page, pages, session
from ticketsync.service.http.console.throttle import SignInThrottle
from ticketsync.service.http.requests import read_body
from ticketsync.service.queries import audit, outbox, status, views
from ticketsync.service.store.log import AuditQuery
from ticketsync.service.workers.outbox import NotParked

logger = logging.getLogger(__name__)

PREFIX = "/ui"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    # console.js fetches the page it is on again to refresh it.
    "connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
}
FLASH_COOKIE = "ticketsync_console_flash"
# A form is a few fields; nothing posted to the console is larger.
MAX_FORM_BYTES = 16 * 1024
STATIC = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}

Page = Callable[[Request], Awaitable[Response]]


def _position(text: str) -> bool:
    """Whether `text` is a position the log could hold (1 to 2**63 - 1)."""
    return (
        text.isascii()
        and text.isdigit()
        and len(text) <= 19
        and 0 < int(text) <= audit.MAX_POSITION
    )


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every answer of the app it wraps."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.raw = [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in self.raw}
                kept = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
                message = {**message, "headers": [*kept, *self.raw]}
            await send(message)

        await self.app(scope, receive, with_headers)


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a console page, never another site (`//evil`)."""
    if (
        path
        and is_console(path.partition("?")[0])
        and "//" not in path
        and "\\" not in path
        and path.isprintable()
    ):
        return path
    return PREFIX


class Console:
    """The console's endpoints, bound to one container (and the API's rebuilds)."""

    def __init__(self, container: Container, rebuilds: Mapping[str, Any]):
        self.container = container
        self.settings = container.settings
        self.rebuilds = rebuilds
        self.sign_ins = SignInThrottle(time.monotonic)
        self.static = {
            name: importlib.resources.files(__package__).joinpath("static", name).read_bytes()
            for name in STATIC
        }

    # -------------------------------------------------------------- sessions

    @property
    def token(self) -> str | None:
        return self.settings.admin_token

    def cookie(self, request: Request) -> str | None:
        """The request's session cookie when it is a valid session, else None."""
        value = request.cookies.get(session.COOKIE)
        return value if session.valid(value, self.token, time.time()) else None

    def page(self, handler: Callable[[Request, str], Awaitable[Response]]) -> Page:
        """A page for signed-in operators; anyone else is sent to sign in (303)."""

        async def endpoint(request: Request) -> Response:
            cookie = self.cookie(request)
            if cookie is None:
                # The raw path: the decoded one would turn an id's `%2F` or `%3F` into a
                # `/` or `?` on the way back.
                path = addresses.raw_path(request.scope)
                wanted = path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"{PREFIX}?next={quote(wanted, safe='')}", 303)
            return await handler(request, cookie)

        return endpoint

    def action(
        self, handler: Callable[[Request, str, dict[str, str]], Awaitable[Response]]
    ) -> Page:
        """A form post that changes something: a session, its CSRF token and, when the
        browser says where the form came from, this origin; else 403."""

        async def endpoint(request: Request) -> Response:
            cookie = self.cookie(request)
            form = await self.form(request)
            if not self.from_here(request):
                return self.refuse(403, "This form came from another site, and was not accepted.")
            if cookie is None:
                return self.refuse(
                    403, "You are not signed in (or the session ended): sign in again."
                )
            if not session.csrf_valid(form.get("csrf"), cookie, str(self.token)):
                logger.warning("console.csrf_refused", extra={"path": request.url.path})
                return self.refuse(
                    403,
                    "This form has no valid CSRF token: reload the page and try again.",
                    csrf=session.csrf_token(cookie, str(self.token)),
                )
            return await handler(request, cookie, form)

        return endpoint

    @staticmethod
    def from_here(request: Request) -> bool:
        # Under Referrer-Policy no-referrer browsers send `Origin: null` with a same-origin
        # form post, so null says nothing; Sec-Fetch-Site does, where a browser sends it.
        origin = request.headers.get("origin")
        if origin == "null":
            origin = None
        site = request.headers.get("sec-fetch-site")
        return session.same_origin(
            origin, request.url.scheme, request.headers.get("host")
        ) and site in (None, "same-origin", "none")

    @staticmethod
    async def form(request: Request) -> dict[str, str]:
        """An url-encoded form's fields (of a repeated one, the first); {} for any other body."""
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        body = await read_body(request, MAX_FORM_BYTES)
        if media_type != "application/x-www-form-urlencoded":
            return {}
        fields: dict[str, str] = {}
        for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            fields.setdefault(name, value)
        return fields

    def refuse(self, code: int, text: str, *, csrf: str | None = None) -> Response:
        titles = {
            401: "Not signed in",
            403: "Refused",
            404: "Not found",
            429: "Too many attempts",
            503: "Unavailable",
        }
        return HTMLResponse(
            pages.message(titles.get(code, "Error"), text, csrf=csrf), status_code=code
        )

    def csrf(self, cookie: str) -> str:
        return session.csrf_token(cookie, str(self.token))

    @staticmethod
    def secure(request: Request) -> bool:
        return request.url.scheme == "https"

    def with_flash(self, request: Request, response: Response, text: str) -> Response:
        value = base64.urlsafe_b64encode(text.encode()).decode()
        response.headers.append(
            "set-cookie",
            f"{FLASH_COOKIE}={value}; Path={PREFIX}; Max-Age=60; HttpOnly; SameSite=Strict"
            + ("; Secure" if self.secure(request) else ""),
        )
        return response

    def take_flash(self, request: Request) -> str | None:
        value = request.cookies.get(FLASH_COOKIE)
        if not value:
            return None
        try:
            return base64.urlsafe_b64decode(value.encode()).decode()[:300]
        except (binascii.Error, UnicodeDecodeError):
            return None

    def shown(
        self, request: Request, html: str, flash: str | None, status_code: int = 200
    ) -> Response:
        response = HTMLResponse(html, status_code=status_code)
        if flash is not None:
            response.headers.append(
                "set-cookie",
                f"{FLASH_COOKIE}=; Path={PREFIX}; Max-Age=0; HttpOnly; SameSite=Strict",
            )
        return response

    # -------------------------------------------------------------- signing in and out

    async def home(self, request: Request) -> Response:
        cookie = self.cookie(request)
        if cookie is None:
            wanted = request.query_params.get("next")
            return HTMLResponse(pages.sign_in(next_path=safe_next(wanted) if wanted else None))
        flash = self.take_flash(request)
        data = await run_in_threadpool(self._overview)
        return self.shown(
            request, pages.overview(csrf=self.csrf(cookie), flash=flash, **data), flash
        )

    def _overview(self) -> dict[str, Any]:
        position, projections = status.positions(self.container)
        return {
            "position": position,
            "projections": status.lags(position, projections),
            "calls": self.container.store.call_counts(),
            "rebuilds": self._rebuilds(),
        }

    def _rebuilds(self) -> list[dict[str, Any]]:
        """Rebuilds started here (with their progress), and those running in other processes."""
        shown = [progress.as_dict() for progress in reversed(list(self.rebuilds.values()))]
        known = {r["id"] for r in shown}
        for projection, rebuild_id in self.container.store.rebuild_claims(time.time()):
            if rebuild_id not in known:
                shown.append({"id": rebuild_id, "projections": [projection], "state": "running"})
        return shown[:10]

    async def sign_in(self, request: Request) -> Response:
        form = await self.form(request)
        if not self.from_here(request):
            return self.refuse(403, "This form came from another site, and was not accepted.")
        given = form.get("token", "")
        target = safe_next(form.get("next"))
        # Behind a proxy on this machine, uvicorn takes the address from X-Forwarded-For.
        address = request.client.host if request.client else "unknown"
        wait = self.sign_ins.wait(address)
        if wait is not None:
            # Checked before the token, so that guessing gets no answer while it waits.
            logger.warning("console.sign_in_throttled", extra={"retry_after": wait})
            refused = self.refuse(
                429,
                f"Too many wrong tokens from your address: try again in {wait} seconds.",
            )
            refused.headers["retry-after"] = str(wait)
            return refused
        if not session.token_matches(given, self.token):
            self.sign_ins.failed(address)
            logger.warning("console.sign_in_refused", extra={})
            return HTMLResponse(
                pages.sign_in(next_path=target if target != PREFIX else None, refused=True),
                status_code=401,
            )
        logger.info("console.signed_in", extra={})
        response = RedirectResponse(target, 303)
        value = session.issue(str(self.token), time.time())
        response.headers.append(
            "set-cookie", session.cookie_header(value, secure=self.secure(request))
        )
        return response

    async def sign_out(self, request: Request, cookie: str, form: dict[str, str]) -> Response:
        response = RedirectResponse(PREFIX, 303)
        response.headers.append(
            "set-cookie", session.cookie_header("", secure=self.secure(request), max_age=0)
        )
        return response

    # -------------------------------------------------------------- pages

    async def search(self, request: Request, cookie: str) -> Response:
        text = request.query_params.get("q", "").strip()
        if not text:
            return RedirectResponse(PREFIX, 303)
        exact = await run_in_threadpool(self.container.store.conversation_state, text)
        if exact is not None:
            return RedirectResponse(pages.conversation_href(text), 303)
        found = await run_in_threadpool(views.find, self.container, text)
        return HTMLResponse(pages.search_results(csrf=self.csrf(cookie), query=text, found=found))

    async def conversation(self, request: Request, cookie: str) -> Response:
        try:
            conversation_id, _ = addresses.conversation(request.scope, f"{PREFIX}/conversations/")
        except Refused as refused:
            return self.refuse(400, refused.detail, csrf=self.csrf(cookie))
        before = request.query_params.get("before")
        if before is not None and not _position(before):
            return self.refuse(
                400, "before must be the position of an entry.", csrf=self.csrf(cookie)
            )
        flash = self.take_flash(request)
        # Off the event loop: reading it, and writing a page of up to TIMELINE_PAGE entries.
        html = await run_in_threadpool(
            self._conversation,
            conversation_id,
            int(before) if before is not None else None,
            self.csrf(cookie),
            flash,
        )
        if html is None:
            return self.refuse(
                404,
                f"ticketsync has heard nothing of a conversation {conversation_id!r}.",
                csrf=self.csrf(cookie),
            )
        return self.shown(request, html, flash)

    def _conversation(
        self, conversation_id: str, before: int | None, csrf: str, flash: str | None
    ) -> str | None:
        view = views.conversation(self.container, conversation_id)
        if view is None:
            return None
        explained = views.explain(self.container, conversation_id)
        query = AuditQuery(
            conversation_id=conversation_id,
            before=before,
            newest_first=True,
            limit=conversation_page.TIMELINE_PAGE,
        )
        events, older = audit.page(self.container.log, query)
        calls = [
            views.call(call) for call in self.container.store.unfinished_calls_of(conversation_id)
        ]
        return conversation_page.page(
            csrf=csrf,
            flash=flash,
            view=view,
            explained=explained,
            calls=calls,
            events=events,
            older=older,
            newer=before is not None,
        )

    async def entry(self, request: Request, cookie: str) -> Response:
        """One audit entry, whole: where a timeline entry's cut data links."""
        position = request.path_params["position"]
        if not _position(position):
            return self.refuse(404, "There is no such entry.", csrf=self.csrf(cookie))
        html = await run_in_threadpool(self._entry, int(position), self.csrf(cookie))
        if html is None:
            return self.refuse(
                404, f"There is no entry at position {position}.", csrf=self.csrf(cookie)
            )
        return HTMLResponse(html)

    def _entry(self, position: int, csrf: str) -> str | None:
        events, _ = audit.page(self.container.log, AuditQuery(after=position - 1, limit=1))
        if not events or events[0]["position"] != position:
            return None
        return conversation_page.entry(events[0], csrf=csrf)

    async def local_ticket(self, request: Request, cookie: str) -> Response:
        """A ticket of the built-in desk, where the conversation page's ticket links."""
        ticket_id = request.path_params["ticket_id"]
        found = await run_in_threadpool(views.ticket, self.container, "local", ticket_id)
        if found is None or self.container.help_desk.system != "local":
            return self.refuse(
                404, "There is no such ticket on the built-in desk.", csrf=self.csrf(cookie)
            )
        return HTMLResponse(conversation_page.local_ticket(found, csrf=self.csrf(cookie)))

    async def outbox(self, request: Request, cookie: str) -> Response:
        given = {name: request.query_params.get(name) or None for name in outbox.FILTERS}
        try:
            query = outbox.query_from(given)
        except audit.BadQuery as bad:
            if bad.field == "state":
                text = "There is no such state: calls are parked, pending or done."
            else:
                text = f"There is no such page of the outbox: {bad.detail}."
            return self.refuse(404, text, csrf=self.csrf(cookie))
        flash = self.take_flash(request)
        calls, cursor = await run_in_threadpool(outbox.page, self.container.store, query)
        html = pages.outbox(
            csrf=self.csrf(cookie),
            state=query.state,
            calls=calls,
            flash=flash,
            after=given["after"],
            next_cursor=cursor,
            limit=given["limit"],
        )
        return self.shown(request, html, flash)

    async def retry(self, request: Request, cookie: str, form: dict[str, str]) -> Response:
        call_id = request.path_params["call_id"]
        refused: NotParked | None = None
        try:
            call = await run_in_threadpool(self.container.dispatcher.retry, call_id)
        except NotParked as error:  # a second click, or a page older than the call's state
            call, refused = error.call, error
        if call is None:
            return self.refuse(404, f"There is no call {call_id!r}.", csrf=self.csrf(cookie))
        # Back to where the button was: the call's conversation, or the outbox's tab.
        state = form.get("state")
        if form.get("from") == "conversation":
            back = pages.conversation_href(call.conversation_id)
        else:
            back = pages.outbox_href(
                state if state in pages.STATES else None, after=form.get("after")
            )
        response = RedirectResponse(back, 303)
        if refused is not None and call.state == "done":
            return self.with_flash(request, response, f"Call {call_id} has succeeded already.")
        if refused is not None:
            return self.with_flash(
                request,
                response,
                f"Call {call_id} is {call.state}, not parked: it waits for its next attempt "
                "or is being sent, so it was not retried.",
            )
        self.container.wake()
        logger.info("console.call_retried", extra={"call_id": call_id})
        return self.with_flash(
            request, response, f"Call {call_id} ({call.kind}) was queued for another attempt."
        )

    async def static_file(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return self.refuse(404, "There is no such file.")
        return Response(self.static[name], media_type=STATIC[name])

    # -------------------------------------------------------------- errors

    async def error(self, request: Request, error: Exception) -> Response:
        """The console's own error pages: HTML, not the API's JSON, with the sign-out
        button for a signed-in operator."""
        cookie = self.cookie(request)
        csrf = self.csrf(cookie) if cookie is not None else None
        if isinstance(error, HTTPException):
            if error.status_code == 405:
                return self.refuse(405, "That page does not take this method.", csrf=csrf)
            return self.refuse(404, "There is no such page in the console.", csrf=csrf)
        if isinstance(error, Refused):
            code = 413 if error.code == "payload_too_large" else 400
            return self.refuse(code, error.detail, csrf=csrf)
        if isinstance(error, StoreUnavailable):
            logger.warning(
                "store.unavailable", extra={"path": request.url.path, "error": str(error)}
            )
            response = self.refuse(
                503, "The database cannot be reached; reload the page in a few seconds.", csrf=csrf
            )
            response.headers["retry-after"] = "5"
            return response
        logger.error("http.unexpected_error", extra={"path": request.url.path}, exc_info=error)
        return self.refuse(500, "An unexpected error occurred.", csrf=csrf)


def create_console(container: Container, rebuilds: Mapping[str, Any]) -> ASGIApp:
    """The console's application, with its security headers."""
    console = Console(container, rebuilds)
    routes = [
        Route(PREFIX, console.home, methods=["GET"]),
        Route(f"{PREFIX}/sign-in", console.sign_in, methods=["POST"]),
        Route(f"{PREFIX}/sign-out", console.action(console.sign_out), methods=["POST"]),
        Route(f"{PREFIX}/search", console.page(console.search), methods=["GET"]),
        Route(
            f"{PREFIX}/conversations/{{conversation_id:id}}",
            console.page(console.conversation),
            methods=["GET"],
        ),
        Route(f"{PREFIX}/entries/{{position}}", console.page(console.entry), methods=["GET"]),
        Route(
            f"{PREFIX}/tickets/local/{{ticket_id}}",
            console.page(console.local_ticket),
            methods=["GET"],
        ),
        Route(f"{PREFIX}/outbox", console.page(console.outbox), methods=["GET"]),
        Route(
            f"{PREFIX}/outbox/{{call_id}}/retry", console.action(console.retry), methods=["POST"]
        ),
        Route(f"{PREFIX}/static/{{name}}", console.static_file, methods=["GET"]),
    ]
    handlers = {
        kind: console.error for kind in (HTTPException, Refused, StoreUnavailable, Exception)
    }
    return SecurityHeaders(Starlette(routes=routes, exception_handlers=handlers))
