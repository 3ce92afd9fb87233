"""Outside text in the console (docs/behaviour.md, section "Limits"): each piece isolated
for display, invisible characters shown as escapes, long fields cut; and a conversation's
page bounded whatever the conversation holds, with a link to each whole entry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import orjson
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.support import ADMIN_TOKEN, message, payload, signed
from ticketsync.service.http.console.conversation_page import DATA_LIMIT, TIMELINE_PAGE
from ticketsync.service.http.console.pages import FIELD_LIMIT
from ticketsync.service.http.requests import MAX_BODY_BYTES

RLO = "\u202e"


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as started:
        assert started.post("/ui/sign-in", data={"token": ADMIN_TOKEN}).status_code == 303
        yield started


def deliver(client: TestClient, event: dict) -> None:
    body, headers = signed(orjson.dumps(event))
    answer = client.post("/webhooks/chat", content=body, headers=headers)
    assert answer.status_code == 202, answer.text


def project(app: Starlette) -> None:
    while app.state.api.container.projector.run_once():
        pass


def started(client: TestClient, cid: str, **customer: object) -> None:
    deliver(
        client,
        payload("conversation.started", cid, customer={"id": "cus_1", **customer}, subject="Hi"),
    )


def test_a_right_to_left_override_is_isolated_and_shown_as_an_escape(
    app: Starlette, client: TestClient
) -> None:
    started(client, "conv_rlo", name=f"evil{RLO}txt.exe", email="e@example.com")
    project(app)
    for path in ("/ui/conversations/conv_rlo", "/ui/search?q=e%40example"):
        text = client.get(path).text
        assert RLO not in text, path
        escaped = '<span class="invisible" title="U+202E RIGHT-TO-LEFT OVERRIDE">\\u202e</span>'
        assert f'<bdi class="outside">evil{escaped}txt.exe</bdi>' in text, path
        # The email and the id beside the name are pieces of their own.
        assert '<bdi class="outside">e@example.com</bdi>' in text, path
        assert '<bdi class="outside">cus_1</bdi>' in text, path


@pytest.mark.parametrize(
    "character, shown",
    [
        pytest.param("\u200b", "\\u200b", id="zero-width-space"),
        pytest.param("\x00", "\\u0000", id="nul"),
        pytest.param("\u2066", "\\u2066", id="left-to-right-isolate"),
        pytest.param("\U000e0041", "\\U000e0041", id="tag-character"),
        pytest.param("\x1b", "\\u001b", id="escape"),
    ],
)
def test_invisible_characters_are_shown(
    app: Starlette, client: TestClient, character: str, shown: str
) -> None:
    started(client, "conv_hidden", name=f"ann{character}smith")
    project(app)
    text = client.get("/ui/conversations/conv_hidden").text
    assert character not in text
    assert f">{shown}</span>" in text


def test_joiners_that_scripts_and_emoji_need_are_left_as_they_are(
    app: Starlette, client: TestClient
) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    started(
        client, "conv_joined", name=f"{family} \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    )
    project(app)
    text = client.get("/ui/conversations/conv_joined").text
    assert family in text
    assert 'class="invisible"' not in text


def test_a_long_name_is_cut_on_the_conversation_page_and_in_the_search(
    app: Starlette, client: TestClient
) -> None:
    name = "x" * 10_000
    started(client, "conv_long", name=name)
    project(app)
    cut = f'<span class="cut">… ({10_000 - FIELD_LIMIT:,} more characters)</span>'
    for path, part in (
        ("/ui/conversations/conv_long", r'<section id="summary">.*?</section>'),
        ("/ui/search?q=cus_1", r'<table id="results">.*?</table>'),
    ):
        text = client.get(path).text
        [shown] = re.findall(part, text, re.DOTALL)
        assert max(len(run) for run in re.findall("x+", shown)) == FIELD_LIMIT, path
        assert f'<bdi class="outside">{"x" * FIELD_LIMIT}{cut}</bdi>' in shown, path
    # The whole name is in the entry that brought it, shown whole on its own page.
    assert name in client.get("/ui/entries/1").text


def test_a_page_of_a_long_conversation_is_bounded_and_links_to_each_whole_entry(
    app: Starlette, client: TestClient
) -> None:
    cid = "acme/long"
    started(client, cid, name="Ann")
    for n in range(998):
        deliver(client, message(cid, content=f"message {n}", message_id=f"m{n}"))
    # The largest body a chat may send: 1 MiB.
    envelope = len(orjson.dumps(message(cid, content="", message_id="huge")))
    huge = "y" * (MAX_BODY_BYTES - envelope)
    deliver(client, message(cid, content=huge, message_id="huge"))
    project(app)
    page = client.get("/ui/conversations/" + quote(cid, safe=""))
    assert page.status_code == 200
    assert len(page.content) < 400_000
    entries = re.findall(r'<li id="e(\d+)"', page.text)
    assert len(entries) == TIMELINE_PAGE
    positions = [int(p) for p in entries]
    assert positions == sorted(positions, reverse=True)  # the newest first
    assert "y" * (DATA_LIMIT + 1) not in page.text
    # The huge message is on this page, cut; its whole is one link away.
    [cut] = [
        item
        for item in page.text.split('<li id="e')[1:]
        if "yyyy" in item and 'class="cut"' in item
    ]
    huge_at = int(cut.partition('"')[0])
    assert f'href="/ui/entries/{huge_at}"' in cut
    whole = client.get(f"/ui/entries/{huge_at}")
    assert whole.status_code == 200
    assert huge in whole.text
    # Older entries are a page away, the oldest among them.
    older = re.search(r'href="([^"]+\?before=\d+)" class="older"', page.text)
    assert older, "no link to older entries"
    previous = client.get(older.group(1).replace("&amp;", "&"))
    older_positions = [int(p) for p in re.findall(r'<li id="e(\d+)"', previous.text)]
    assert len(older_positions) == TIMELINE_PAGE
    assert max(older_positions) < min(positions)
    assert 'class="newest"' in previous.text


def test_an_entry_that_is_not_there_is_a_404_page(client: TestClient) -> None:
    for position in ("999", "0", "x", "9" * 5000):
        assert client.get(f"/ui/entries/{position}").status_code == 404, position


def test_a_timeline_page_before_a_bad_position_is_refused(
    app: Starlette, client: TestClient
) -> None:
    started(client, "conv_b", name="B")
    project(app)
    assert client.get("/ui/conversations/conv_b?before=abc").status_code == 400
    assert client.get("/ui/conversations/conv_b?before=1").status_code == 200
