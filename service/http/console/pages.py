"""The console's pages as HTML, from the same dicts the JSON API answers with.

Pure functions of what they are given. Everything shown goes through markup.tag or
markup.escape: a conversation's words come from a webhook and are shown as text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from ticketsync.service.http.console.markup import Markup, outside, tag, when

# How often the pages that show live state fetch themselves again (console.js).
REFRESH_SECONDS = 5
STATES = ("parked", "pending", "done")
# The characters of one outside field (a name, a subject) a page shows; the whole is in
# the audit entry that brought it.
FIELD_LIMIT = 500


def conversation_href(conversation_id: str) -> str:
    """The console's address of a conversation, its id percent-encoded with every `/` as
    `%2F`: a browser rewrites a `.` or `..` segment and ends the path at `?` or `#`."""
    return "/ui/conversations/" + quote(conversation_id, safe="")


def layout(
    title: str,
    body: object,
    *,
    csrf: str | None = None,
    refresh: bool = False,
    flash: str | None = None,
    query: str = "",
) -> str:
    """A whole page: the head, the header (when signed in: the search box and the sign-out
    button), `body`."""
    head = tag(
        "head",
        None,
        tag("meta", {"charset": "utf-8"}),
        tag("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
        tag("title", None, f"{title} · ticketsync"),
        tag("link", {"rel": "icon", "href": "/ui/static/favicon.svg", "type": "image/svg+xml"}),
        tag("link", {"rel": "stylesheet", "href": "/ui/static/console.css"}),
        tag("script", {"src": "/ui/static/console.js", "defer": True}),
    )
    header = tag("header", None, tag("a", {"href": "/ui", "class": "brand"}, "ticketsync"))
    if csrf is not None:
        header = tag(
            "header",
            None,
            tag("a", {"href": "/ui", "class": "brand"}, "ticketsync"),
            tag(
                "nav",
                None,
                tag("a", {"href": "/ui"}, "Overview"),
                tag("a", {"href": "/ui/outbox?state=parked"}, "Parked calls"),
                tag("a", {"href": "/ui/outbox"}, "Outbox"),
            ),
            search_form(query),
            tag(
                "form",
                {"method": "post", "action": "/ui/sign-out", "class": "sign-out"},
                csrf_field(csrf),
                tag("button", {"type": "submit"}, "Sign out"),
            ),
        )
    notice = tag("p", {"class": "flash", "role": "status"}, flash) if flash else ""
    main = tag("main", None, notice, body)
    attrs = {"data-refresh-seconds": REFRESH_SECONDS} if refresh else {}
    return "<!doctype html>\n" + tag("html", {"lang": "en"}, head, tag("body", attrs, header, main))


def csrf_field(csrf: str) -> Markup:
    return tag("input", {"type": "hidden", "name": "csrf", "value": csrf})


def live(*children: object) -> Markup:
    """The part of a page that console.js fetches again and swaps in."""
    return tag(
        "div",
        {"id": "live"},
        *children,
        tag("p", {"class": "refreshed"}, f"Refreshes every {REFRESH_SECONDS} s."),
    )


def definitions(rows: Iterable[tuple[str, object]]) -> Markup:
    return tag(
        "dl", None, [[tag("dt", None, name), tag("dd", None, value)] for name, value in rows]
    )


def table(headings: Sequence[str], rows: Iterable[Sequence[object]], **attrs: object) -> Markup:
    return tag(
        "table",
        attrs,
        tag("thead", None, tag("tr", None, [tag("th", None, h) for h in headings])),
        tag(
            "tbody",
            None,
            [tag("tr", None, [tag("td", None, cell) for cell in row]) for row in rows],
        ),
    )


# ------------------------------------------------------------------ signing in


def sign_in(*, next_path: str | None = None, refused: bool = False) -> str:
    """The sign-in form; `refused` after a wrong token (the token is never written back)."""
    form = tag(
        "form",
        {"method": "post", "action": "/ui/sign-in", "class": "sign-in"},
        tag("label", {"for": "token"}, "Admin token"),
        tag(
            "input",
            {
                "id": "token",
                "name": "token",
                "type": "password",
                "autocomplete": "current-password",
                "required": True,
                "autofocus": True,
            },
        ),
        tag("input", {"type": "hidden", "name": "next", "value": next_path}) if next_path else "",
        tag("button", {"type": "submit"}, "Sign in"),
    )
    error = (
        tag("p", {"class": "error", "role": "alert"}, "That is not the admin token.")
        if refused
        else ""
    )
    body = [
        tag("h1", None, "Operations console"),
        tag("p", None, "Sign in with the admin token (TICKETSYNC_ADMIN_TOKEN)."),
        tag(
            "p",
            {"class": "hint"},
            "It is in .env in the folder where the service runs; `make run` (serve --dev) "
            "printed it when it made it.",
        ),
        error,
        form,
    ]
    return layout("Sign in", body)


# ------------------------------------------------------------------ the overview


def search_form(value: str = "") -> Markup:
    return tag(
        "form",
        {"method": "get", "action": "/ui/search", "class": "search", "role": "search"},
        tag("label", {"for": "q", "class": "hidden-label"}, "Find a conversation"),
        tag(
            "input",
            {
                "id": "q",
                "name": "q",
                "type": "search",
                "value": value,
                "placeholder": "conversation id, or customer name, email or id",
                "required": True,
            },
        ),
        tag("button", {"type": "submit"}, "Search"),
    )


def overview(
    *,
    csrf: str,
    position: int,
    projections: Mapping[str, Mapping[str, int]],
    calls: Mapping[str, int],
    rebuilds: Sequence[Mapping[str, Any]],
    flash: str | None = None,
) -> str:
    lag_rows = [
        (name, at["position"], tag("span", {"class": "lag" if at["lag"] else "ok"}, at["lag"]))
        for name, at in sorted(projections.items())
    ]
    call_rows = [
        (
            tag("a", {"href": f"/ui/outbox?state={state}"}, state),
            tag(
                "span",
                {"class": "lag" if state == "parked" and calls.get(state) else ""},
                calls.get(state, 0),
            ),
        )
        for state in STATES
    ]
    parked = calls.get("parked", 0)
    rebuild_rows = [
        (
            r.get("id"),
            ", ".join(r.get("projections") or ()) or "all",
            r.get("state"),
            _progress(r),
        )
        for r in rebuilds
    ]
    body = [
        tag("h1", None, "Overview"),
        live(
            tag(
                "div",
                {"class": "columns"},
                tag(
                    "section",
                    {"id": "log"},
                    tag("h2", None, "Log and projections"),
                    tag(
                        "p", None, "Log position ", tag("strong", {"id": "log-position"}, position)
                    ),
                    table(("projection", "position", "lag"), lag_rows, id="projections"),
                ),
                tag(
                    "section",
                    {"id": "rebuilds"},
                    tag("h2", None, "Rebuilds"),
                    table(("rebuild", "projections", "state", "progress"), rebuild_rows)
                    if rebuild_rows
                    else tag("p", None, "No rebuild is running."),
                ),
                tag(
                    "section",
                    {"id": "outbox"},
                    tag("h2", None, "Outbox"),
                    table(("state", "calls"), call_rows, id="outbox-counts"),
                    tag(
                        "p",
                        None,
                        tag(
                            "a",
                            {"href": "/ui/outbox?state=parked", "class": "parked-link"},
                            f"{parked} parked call{'' if parked == 1 else 's'}",
                        ),
                        (" waits" if parked == 1 else " wait") + " for an operator."
                        if parked
                        else ": nothing waits for an operator.",
                    ),
                ),
            ),
        ),
    ]
    return layout("Overview", body, csrf=csrf, refresh=True, flash=flash)


def _progress(rebuild: Mapping[str, Any]) -> str:
    head, at = rebuild.get("head"), rebuild.get("position")
    if not head:
        return "claimed" if rebuild.get("state") == "running" else ""
    percent = 100 * (at or 0) / head
    return f"{at} of {head} ({percent:.0f} %)"


def search_results(*, csrf: str, query: str, found: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        (
            tag(
                "a",
                {"href": conversation_href(c["conversation_id"])},
                outside(c["conversation_id"]),
            ),
            customer_text(c.get("customer")),
            outside(c.get("subject"), FIELD_LIMIT),
            c.get("status"),
        )
        for c in found
    ]
    asked = outside(query, FIELD_LIMIT)
    body = [
        tag("h1", None, "Conversations matching “", asked, "”"),
        table(("conversation", "customer", "subject", "status"), rows, id="results")
        if rows
        else tag("p", {"id": "no-results"}, "No conversation or customer matches “", asked, "”."),
    ]
    return layout("Search", body, csrf=csrf, query=query)


def customer_text(customer: Mapping[str, Any] | None) -> Markup | str:
    """`name <email> (id)`, each piece isolated: a right-to-left name cannot reorder the
    email or the id beside it."""
    if not customer:
        return ""
    name, email = customer.get("name"), customer.get("email")
    pieces: list[object] = []
    if name:
        pieces.append(outside(name, FIELD_LIMIT))
    if email:
        pieces += [" <" if name else "", outside(email, FIELD_LIMIT), ">" if name else ""]
    ident = outside(str(customer.get("id")), FIELD_LIMIT)
    pieces += [" (", ident, ")"] if pieces else [ident]
    return tag("span", {"class": "customer"}, pieces)


def retry_button(call: Mapping[str, Any], csrf: str, back: Mapping[str, str]) -> Markup:
    """The form that makes a parked call due again; `back` says where to return."""
    return tag(
        "form",
        {"method": "post", "action": f"/ui/outbox/{quote(call['id'], safe='')}/retry"},
        csrf_field(csrf),
        [
            tag("input", {"type": "hidden", "name": name, "value": value})
            for name, value in back.items()
        ],
        tag("button", {"type": "submit", "class": "retry"}, "Retry"),
    )


# ------------------------------------------------------------------ the outbox


def outbox_href(state: str | None, *, after: str | None = None, limit: str | None = None) -> str:
    """The console's address of a page of the outbox: the calls of `state` (or all) after
    the cursor `after`."""
    given = (("state", state), ("after", after), ("limit", limit))
    query = urlencode([(name, value) for name, value in given if value])
    return "/ui/outbox" + (f"?{query}" if query else "")


def outbox(
    *,
    csrf: str,
    state: str | None,
    calls: Sequence[Mapping[str, Any]],
    flash: str | None = None,
    after: str | None = None,
    next_cursor: str | None = None,
    limit: str | None = None,
) -> str:
    """A page of the outbox (docs/behaviour.md, "Limits": every listing is paged), with a
    link to the next page when there is one, and back to the first when this is not it."""
    tabs = tag(
        "nav",
        {"class": "tabs"},
        [
            tag(
                "a",
                {"href": outbox_href(s), "class": "current" if s == state else None},
                s or "all",
            )
            for s in (*STATES, None)
        ],
    )
    paging = [
        tag("a", {"href": outbox_href(state, limit=limit), "class": "first-page"}, "first page")
        if after
        else "",
        tag(
            "a",
            {"href": outbox_href(state, after=next_cursor, limit=limit), "class": "next-page"},
            "next page",
        )
        if next_cursor
        else "",
    ]
    back = {name: value for name, value in (("state", state), ("after", after)) if value}
    rows = []
    for call in calls:
        retry: object = ""
        if call["state"] == "parked":
            retry = retry_button(call, csrf, back=back)
        rows.append(
            (
                tag("code", None, call["id"]),
                tag(
                    "a",
                    {"href": conversation_href(call["conversation_id"])},
                    call["conversation_id"],
                ),
                call["kind"],
                tag("span", {"class": f"state state-{call['state']}"}, call["state"]),
                call["attempts"],
                call.get("last_error") or "",
                when(call["next_attempt_at"]) if call["state"] == "pending" else "",
                when(call["updated_at"]),
                retry,
            )
        )
    body = [
        tag("h1", None, f"Outbox: {state} calls" if state else "Outbox"),
        tabs,
        live(
            table(
                (
                    "call",
                    "conversation",
                    "kind",
                    "state",
                    "attempts",
                    "reason",
                    "next attempt",
                    "updated",
                    "",
                ),
                rows,
                id="calls",
            )
            if rows
            else tag("p", {"id": "no-calls"}, f"No {state or ''} calls.".replace("  ", " ")),
            tag("nav", {"class": "pages"}, paging) if any(paging) else "",
        ),
    ]
    return layout("Outbox", body, csrf=csrf, refresh=True, flash=flash)


# ------------------------------------------------------------------ refusals


def message(title: str, text: str, *, csrf: str | None = None, link: bool = True) -> str:
    """A page that says what went wrong (404, 403, 401, 503) and where to go."""
    back = tag("p", None, tag("a", {"href": "/ui"}, "Back to the overview")) if link else ""
    return layout(
        title, [tag("h1", None, title), tag("p", {"class": "error"}, text), back], csrf=csrf
    )
