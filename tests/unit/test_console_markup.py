"""The console's HTML helper escapes every value it did not build, and its links stay home."""

from __future__ import annotations

import pytest

from ticketsync.service.http.console import conversation_page, pages
from ticketsync.service.http.console.app import safe_next
from ticketsync.service.http.console.markup import Markup, escape, tag


@pytest.mark.parametrize(
    "value, shown",
    [
        pytest.param(
            "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;", id="script"
        ),
        pytest.param(
            '<img src=x onerror="x()">', "&lt;img src=x onerror=&quot;x()&quot;&gt;", id="img"
        ),
        pytest.param("it's & that", "it&#x27;s &amp; that", id="quote-and-ampersand"),
        pytest.param(None, "", id="none-is-nothing"),
        pytest.param(42, "42", id="number"),
        pytest.param(Markup("<b>ours</b>"), "<b>ours</b>", id="markup-kept"),
    ],
)
def test_escape(value: object, shown: str) -> None:
    assert escape(value) == shown


def test_children_and_attributes_are_escaped() -> None:
    built = tag(
        "a",
        {"href": '"><script>x()</script>', "class_": "c", "hidden": True, "title": None},
        "<i>",
        ["<b>", Markup("<br>")],
    )
    assert built == (
        '<a href="&quot;&gt;&lt;script&gt;x()&lt;/script&gt;" class="c" hidden>'
        "&lt;i&gt;&lt;b&gt;<br></a>"
    )
    assert tag("input", {"value": "<x>"}) == '<input value="&lt;x&gt;">'


def test_a_page_built_from_hostile_values_holds_them_as_text() -> None:
    hostile = "<script>window.x = 1</script>"
    html = pages.search_results(
        csrf='"><script>',
        query=hostile,
        found=[
            {
                "conversation_id": hostile,
                "customer": {"id": hostile, "name": hostile, "email": None},
                "subject": hostile,
                "status": "open",
            }
        ],
    )
    assert "<script>window" not in html
    assert "&lt;script&gt;window.x = 1&lt;/script&gt;" in html
    assert '"><script>' not in html


@pytest.mark.parametrize(
    "url, href",
    [
        ("https://acme.zendesk.com/agent/tickets/1", "https://acme.zendesk.com/agent/tickets/1"),
        ("http://127.0.0.1:9000/agent/tickets/1", "http://127.0.0.1:9000/agent/tickets/1"),
        ("javascript:alert(1)", None),
        ("data:text/html,<script>", None),
        (None, None),
    ],
)
def test_only_web_links_to_a_help_desk(url: object, href: str | None) -> None:
    assert conversation_page.safe_href(url) == href


@pytest.mark.parametrize(
    "asked, target",
    [
        ("/ui/conversations/a/b", "/ui/conversations/a/b"),
        ("/ui/outbox?state=parked", "/ui/outbox?state=parked"),
        ("/ui", "/ui"),
        ("//evil.example", "/ui"),
        ("https://evil.example/ui", "/ui"),
        ("/ui//evil.example", "/ui"),
        ("/ui\\evil", "/ui"),
        ("/uix", "/ui"),
        ("/healthz", "/ui"),
        ("/ui/\nSet-Cookie: x", "/ui"),
        (None, "/ui"),
    ],
)
def test_signing_in_returns_only_to_a_console_page(asked: str | None, target: str) -> None:
    assert safe_next(asked) == target


def test_conversation_links_encode_slashes_and_the_rest() -> None:
    # A browser would rewrite `..` and end the path at `?`; `%2F` keeps the id whole.
    assert pages.conversation_href("team/conv 1?x#y") == (
        "/ui/conversations/team%2Fconv%201%3Fx%23y"
    )
