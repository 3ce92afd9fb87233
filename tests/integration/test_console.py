"""The console at /ui over the real app and store, without a browser: signing in, the
session cookie, CSRF, the security headers, escaping, and what each page shows."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import orjson
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.support import ADMIN_TOKEN, message, payload, signed
from ticketsync.service.http.console import app as console
from ticketsync.service.http.console import session

HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
PAGES = (
    "/ui",
    "/ui/outbox",
    "/ui/outbox?state=parked",
    "/ui/search?q=ada",
    "/ui/conversations/team/conv_1",
)


def deliver(client: TestClient, event: dict) -> None:
    body, headers = signed(orjson.dumps(event))
    assert client.post("/webhooks/chat", content=body, headers=headers).status_code == 202


def project(app: Starlette) -> None:
    while app.state.api.container.projector.run_once():
        pass


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as started:
        yield started


def sign_in(client: TestClient, token: str = ADMIN_TOKEN, **form: str):
    return client.post("/ui/sign-in", data={"token": token, **form})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def with_conversation(app: Starlette, client: TestClient, cid: str = "team/conv_1") -> None:
    deliver(
        client,
        payload(
            "conversation.started",
            cid,
            customer={"id": "cus_77", "email": "ada@example.com", "name": "Ada Lovelace"},
            subject=f"Charged twice {HOSTILE}",
            channel="web",
        ),
    )
    deliver(client, payload("intents.detected", cid, intents=["billing_problem"]))
    deliver(client, message(cid, content=f"help {HOSTILE}"))
    deliver(client, payload("conversation.escalated", cid, reason="customer asked for a human"))
    project(app)


# ------------------------------------------------------------------ signing in


def test_sign_in_waits_after_five_wrong_tokens_from_one_address(client: TestClient) -> None:
    for _ in range(5):
        assert sign_in(client, token="wrong-" + "x" * 40).status_code == 401
    refused = sign_in(client, token="wrong-" + "x" * 40)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "try again in" in refused.text
    # While it waits, even the right token gets no answer: guessing learns nothing.
    assert sign_in(client).status_code == 429
    assert "set-cookie" not in sign_in(client).headers


def test_signing_in_sets_a_session_cookie_that_is_not_the_token(client: TestClient) -> None:
    answer = sign_in(client)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui"
    [cookie] = answer.headers.get_list("set-cookie")
    name, _, rest = cookie.partition("=")
    value, *attributes = [part.strip() for part in rest.split(";")]
    assert name == session.COOKIE
    assert ADMIN_TOKEN not in cookie
    assert session.valid(value, ADMIN_TOKEN, __import__("time").time())
    assert set(attributes) == {
        "Path=/ui",
        f"Max-Age={session.SESSION_SECONDS}",
        "HttpOnly",
        "SameSite=Strict",
    }
    # Over plain http the cookie cannot be Secure, or the browser would never send it back.
    assert "Secure" not in attributes
    assert client.get("/ui").status_code == 200


def test_the_cookie_is_secure_when_the_request_came_over_https(app: Starlette) -> None:
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        answer = sign_in(client)
    assert answer.status_code == 303
    assert "; Secure" in answer.headers["set-cookie"]


def test_a_wrong_token_is_a_401_page_and_no_cookie(client: TestClient) -> None:
    answer = sign_in(client, token="not-the-token")
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers
    assert "not the admin token" in answer.text
    assert "not-the-token" not in answer.text
    assert client.get("/ui/outbox").status_code == 303


def test_signing_in_returns_to_the_page_asked_for_and_never_to_another_site(
    client: TestClient,
) -> None:
    asked = client.get("/ui/conversations/team/conv_1")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/ui?next=%2Fui%2Fconversations%2Fteam%2Fconv_1"
    form = client.get(asked.headers["location"]).text
    assert 'name="next" value="/ui/conversations/team/conv_1"' in form
    assert sign_in(client, next="/ui/conversations/team/conv_1").headers["location"] == (
        "/ui/conversations/team/conv_1"
    )
    for elsewhere in ("//evil.example/ui", "https://evil.example/ui", "/ui//evil", "/admin"):
        assert sign_in(client, next=elsewhere).headers["location"] == "/ui", elsewhere


@pytest.mark.parametrize("path", [p for p in PAGES if p != "/ui"])
def test_a_page_without_a_session_redirects_to_the_sign_in(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui?next=")


def test_the_sign_in_form_is_what_ui_shows_without_a_session(client: TestClient) -> None:
    answer = client.get("/ui")
    assert answer.status_code == 200
    assert 'action="/ui/sign-in"' in answer.text
    assert 'type="password"' in answer.text


def test_a_changed_token_or_an_old_session_is_signed_out() -> None:
    cookie = session.issue(ADMIN_TOKEN, 1_000_000)
    assert session.valid(cookie, ADMIN_TOKEN, 1_000_000 + 60)
    assert not session.valid(cookie, "a-new-token", 1_000_000 + 60)
    assert not session.valid(cookie, ADMIN_TOKEN, 1_000_000 + session.SESSION_SECONDS + 1)
    # Issued in the future: forged, or a clock gone wrong.
    assert not session.valid(cookie, ADMIN_TOKEN, 1_000_000 - 3600)
    issued, nonce, mac = cookie.split(".")
    assert not session.valid(f"{int(issued) + 1}.{nonce}.{mac}", ADMIN_TOKEN, 1_000_000 + 60)
    assert not session.valid(ADMIN_TOKEN, ADMIN_TOKEN, 1_000_000)
    assert not session.valid(cookie, None, 1_000_000 + 60)


def test_signing_out_ends_the_session(client: TestClient) -> None:
    sign_in(client)
    csrf = csrf_of(client.get("/ui").text)
    answer = client.post("/ui/sign-out", data={"csrf": csrf})
    assert answer.status_code == 303
    assert "Max-Age=0" in answer.headers["set-cookie"]
    assert client.get("/ui/outbox").status_code == 303


# ------------------------------------------------------------------ CSRF and origins


def test_a_post_without_its_csrf_token_is_refused(app: Starlette, client: TestClient) -> None:
    with_conversation(app, client)
    sign_in(client)
    [call] = app.state.api.container.store.calls("pending")
    for form in ({}, {"csrf": "forged"}, {"csrf": csrf_of(client.get("/ui").text) + "x"}):
        answer = client.post(f"/ui/outbox/{call.call_id}/retry", data=form)
        assert answer.status_code == 403, form
        assert "CSRF" in answer.text
    assert client.post("/ui/sign-out").status_code == 403
    # Nothing was retried: no operator's retry is in the log.
    assert not [
        e
        for e in client.get(
            "/audit",
            params={"type": "call.retried"},
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        ).json()["events"]
    ]


def test_a_post_from_another_origin_is_refused_even_with_the_token(
    app: Starlette, client: TestClient
) -> None:
    sign_in(client)
    csrf = csrf_of(client.get("/ui").text)
    for headers in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
        answer = client.post("/ui/sign-out", data={"csrf": csrf}, headers=headers)
        assert answer.status_code == 403, headers
    # The browser's own: same origin, or `null` under Referrer-Policy no-referrer.
    for headers in (
        {"origin": "http://testserver"},
        {"origin": "null", "sec-fetch-site": "same-origin"},
    ):
        sign_in(client)
        csrf = csrf_of(client.get("/ui").text)
        assert client.post("/ui/sign-out", data={"csrf": csrf}, headers=headers).status_code == 303


def test_a_retry_from_the_form_queues_the_call_and_says_so(
    app: Starlette, client: TestClient
) -> None:
    with_conversation(app, client)
    sign_in(client)
    store = app.state.api.container.store
    [call] = store.calls("pending")
    with store.transaction() as tx:
        tx.execute(
            "UPDATE ticketsync_outbox SET state = 'parked' WHERE call_id = ?", (call.call_id,)
        )
    page = client.get("/ui/outbox?state=parked")
    assert call.call_id in page.text
    answer = client.post(
        f"/ui/outbox/{call.call_id}/retry", data={"csrf": csrf_of(page.text), "state": "parked"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/outbox?state=parked"
    shown = client.get(answer.headers["location"])
    assert f"Call {call.call_id} (create_ticket) was queued for another attempt." in shown.text
    assert [c.call_id for c in store.calls("pending")] == [call.call_id]
    # A flash is shown once.
    assert "was queued" not in client.get("/ui/outbox?state=parked").text
    # A second click, from the conversation's page: back to it, told the call is not parked.
    again = client.post(
        f"/ui/outbox/{call.call_id}/retry",
        data={"csrf": csrf_of(page.text), "from": "conversation"},
    )
    assert again.headers["location"] == "/ui/conversations/team%2Fconv_1"
    shown = client.get(again.headers["location"]).text
    assert f"Call {call.call_id} is pending, not parked" in shown
    assert "was queued" not in shown
    retried = [
        e
        for e in client.get(
            "/audit",
            params={"type": "call.retried"},
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        ).json()["events"]
    ]
    assert len(retried) == 1  # the second click changed nothing
    missing = client.post("/ui/outbox/no-such-call/retry", data={"csrf": csrf_of(page.text)})
    assert missing.status_code == 404


# ------------------------------------------------------------------ headers on every answer


def test_every_console_answer_has_the_security_headers(app: Starlette, client: TestClient) -> None:
    with_conversation(app, client)
    answers = [client.get("/ui"), sign_in(client, token="wrong"), client.get("/ui/outbox")]
    answers += [sign_in(client)]
    answers += [client.get(path) for path in PAGES]
    answers += [
        client.get("/ui/conversations/nobody"),
        client.get("/ui/no-such-page"),
        client.get("/ui/static/console.css"),
        client.get("/ui/static/console.js"),
        client.get("/ui/static/nothing.js"),
        client.post("/ui/sign-out"),
        client.delete("/ui/outbox"),
    ]
    statuses = {answer.status_code for answer in answers}
    assert statuses == {200, 303, 401, 403, 404, 405}
    for answer in answers:
        headers = answer.headers
        assert headers["content-security-policy"] == console.CSP, answer.url
        for directive in (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ):
            assert directive in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        if answer.status_code != 303:
            assert answer.headers["content-type"].startswith(
                ("text/html", "text/css", "text/javascript")
            )


def test_no_page_has_an_inline_script_or_style(app: Starlette, client: TestClient) -> None:
    with_conversation(app, client)
    sign_in(client)
    for path in PAGES:
        text = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert "<style" not in text, path
        assert " style=" not in text, path
        assert re.search(r"<[^<>]*\son[a-z]+=", text) is None, path


def test_the_token_never_appears_in_a_page_or_a_redirect(
    app: Starlette, client: TestClient
) -> None:
    with_conversation(app, client)
    answers = [
        client.get("/ui"),
        sign_in(client, token="wrong"),
        sign_in(client, next="/ui/outbox"),
    ]
    answers += [client.get(path) for path in PAGES]
    answers += [client.get("/ui/conversations/nobody")]
    for answer in answers:
        assert ADMIN_TOKEN not in answer.text, answer.url
        assert all(ADMIN_TOKEN not in value for value in answer.headers.values()), answer.url


# ------------------------------------------------------------------ the pages


def test_words_from_a_webhook_are_shown_as_text(app: Starlette, client: TestClient) -> None:
    with_conversation(app, client)
    sign_in(client)
    for path in ("/ui/conversations/team/conv_1", "/ui/search?q=ada"):
        text = client.get(path).text
        assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in text, path
        assert "<script>window" not in text, path
        assert "<img src=x" not in text, path


def test_the_conversation_page_tells_its_story_and_why(app: Starlette, client: TestClient) -> None:
    with_conversation(app, client)
    sign_in(client)
    text = client.get("/ui/conversations/team/conv_1").text
    # What a reader sees: the text without the elements that isolate each outside piece.
    shown = re.sub(r"<[^>]+>", "", text)
    assert "Ada Lovelace &lt;ada@example.com&gt; (cus_77)" in shown
    assert (
        "ticket requested because the conversation was escalated: customer asked for a human"
        in shown
    )
    assert "Billing Team, high: primary intent billing_problem" in shown
    assert "create_ticket, not tried yet, due now" in shown
    # Who answers the customer: the escalation handed the conversation to people.
    assert (
        "Answering the customer: people (people answer the customer: the conversation was "
        "escalated; the AI agent stays quiet)" in shown
    )
    # The decision links to the escalation that caused it, an anchor on the same page.
    cause = re.search(
        r'<a href="#e(\d+)" class="cause">caused by #\d+ (?:<[^>]+>)*conversation.escalated',
        text,
    )
    assert cause, "the ticket request does not link its cause"
    assert f'id="e{cause.group(1)}"' in text
    assert 'data-refresh-seconds="5"' in text


def test_an_unknown_conversation_is_a_404_page_with_a_sign_out_button(client: TestClient) -> None:
    sign_in(client)
    answer = client.get("/ui/conversations/no/such")
    assert answer.status_code == 404
    assert "no/such" in answer.text
    assert 'action="/ui/sign-out"' in answer.text
    elsewhere = client.get("/ui/no-such-page")
    assert elsewhere.status_code == 404
    assert 'action="/ui/sign-out"' in elsewhere.text


def test_search_finds_by_id_and_by_customer(app: Starlette, client: TestClient) -> None:
    with_conversation(app, client)
    with_conversation(app, client, "team/conv_2")
    sign_in(client)
    exact = client.get("/ui/search", params={"q": "team/conv_1"})
    assert exact.status_code == 303
    assert exact.headers["location"] == "/ui/conversations/team%2Fconv_1"
    for text in ("ADA@example", "lovelace", "cus_7", "conv_"):
        found = client.get("/ui/search", params={"q": text})
        assert found.status_code == 200, text
        assert found.text.count('href="/ui/conversations/team%2Fconv_') == 2, text
    # LIKE's wildcards are matched as themselves.
    assert "No conversation" in client.get("/ui/search", params={"q": "%"}).text
    assert "No conversation" in client.get("/ui/search", params={"q": "c_nv"}).text
    assert "No conversation" in client.get("/ui/search", params={"q": "nobody"}).text


def test_the_overview_shows_the_log_lag_and_the_outbox(app: Starlette, client: TestClient) -> None:
    with_conversation(app, client)
    sign_in(client)
    text = client.get("/ui").text
    position = app.state.api.container.log.position()
    assert f'<strong id="log-position">{position}</strong>' in text
    assert "<td>conversations</td>" in text
    assert 'href="/ui/outbox?state=parked"' in text
    assert "0 parked calls" in text


@pytest.mark.postgres
def test_search_by_customer_on_postgresql(postgres_server_url: str) -> None:
    from tests.support import CHAT_SECRET
    from ticketsync.service import bootstrap, config
    from ticketsync.service.http import app as http

    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": f"{postgres_server_url}?schema=console_{uuid.uuid4().hex[:8]}",
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    container = bootstrap.build(settings, run_workers=False)
    try:
        app = http.create_app(container)
        with TestClient(app, follow_redirects=False) as client:
            with_conversation(app, client)
            with_conversation(app, client, "team/conv_2")
            sign_in(client)
            for text in ("ADA@example", "lovelace", "cus_7"):
                found = client.get("/ui/search", params={"q": text})
                assert found.text.count('href="/ui/conversations/team%2Fconv_') == 2, text
            assert "No conversation" in client.get("/ui/search", params={"q": "%"}).text
    finally:
        container.close()


def test_the_overview_shows_a_rebuilds_progress(app: Starlette, client: TestClient) -> None:
    from tests.support import wait_until

    with_conversation(app, client)
    auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    started = client.post("/admin/rebuild", headers=auth)
    assert started.status_code == 202
    rebuild_id = started.json()["id"]
    wait_until(
        lambda: client.get(f"/admin/rebuild/{rebuild_id}", headers=auth).json()["state"] == "done"
    )
    sign_in(client)
    text = client.get("/ui").text
    head = app.state.api.container.log.position()
    assert f"<td>{rebuild_id}</td>" in text
    assert f"<td>done</td><td>{head} of {head} (100 %)</td>" in text


def test_the_browser_finds_a_favicon_and_the_sign_in_says_where_the_token_is(
    client: TestClient,
) -> None:
    page = client.get("/ui").text
    assert '<link rel="icon" href="/ui/static/favicon.svg" type="image/svg+xml">' in page
    assert "It is in .env in the folder where the service runs" in page
    icon = client.get("/ui/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.startswith("<svg")


def test_times_are_shown_one_way_to_the_second_with_the_whole_value_on_hover(
    app: Starlette, client: TestClient
) -> None:
    with_conversation(app, client)
    sign_in(client)
    page = client.get("/ui/conversations/team%2Fconv_1").text
    times = re.findall(r'<time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', page)
    assert times
    for moment, title, shown in times:
        assert title == moment
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", shown), shown
    outbox = client.get("/ui/outbox").text
    assert re.search(r'<time datetime="[^"]+" title="[^"]+">[^<]+ UTC</time>', outbox)


def test_a_built_in_desk_ticket_links_to_its_own_page(app: Starlette, client: TestClient) -> None:
    with_conversation(app, client)
    container = app.state.api.container
    while container.dispatcher.run_once() or container.projector.run_once():
        pass
    sign_in(client)
    page = client.get("/ui/conversations/team%2Fconv_1").text
    found = re.search(r'<a href="(/ui/tickets/local/[^"]+)" class="desk">', page)
    assert found, "the ticket does not link to its page"
    ticket = client.get(found.group(1))
    assert ticket.status_code == 200
    shown = re.sub(r"<[^>]+>", "", ticket.text)
    assert "Charged twice" in shown
    assert "(internal note)" in shown  # the summary note
    assert "CUSTOMER ISSUE:" in shown
    assert client.get("/ui/tickets/local/999999").status_code == 404
