"""The operations console in a real browser: headless Chromium against `ticketsync serve`.

Each test signs in afresh (a new browser context has no cookies). The screenshots the README
shows go to a temporary folder, or to TICKETSYNC_SCREENSHOTS when it is set: `make
screenshots` sets it to docs/images/, so a test run never rewrites a tracked file.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import orjson
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import VIEWPORT, ZENDESK_SECRET
from tests.emulators.zendesk import ZendeskEmulator
from tests.support import ADMIN_TOKEN, Server, message, payload, signed, wait_until
from ticketsync.adapters.zendesk import signature as zendesk_signature
from ticketsync.service.http.console.pages import conversation_href

IMAGES = Path(os.environ.get("TICKETSYNC_SCREENSHOTS") or tempfile.mkdtemp(prefix="console-"))
STORY = "acme/conv_1001"  # an id with a slash, as some chat platforms make them
HOSTILE = "conv_hostile"
SCRIPT = "<script>window.__pwned = 1</script>"
IMAGE = '<img src=x onerror="window.__pwned = 2">'


def send(server: Server, event: dict) -> None:
    body, headers = signed(event)
    answer = httpx.post(server.url + "/webhooks/chat", content=body, headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text


def status_changed(server: Server, emulator: ZendeskEmulator, ticket_id: int, status: str) -> None:
    """An agent changes the ticket's status in Zendesk, and Zendesk's webhook says so."""
    emulator.act_as_agent(ticket_id, status=status)
    ticket = emulator.ticket(ticket_id)
    body = orjson.dumps(
        {
            "account_id": 1234,
            "detail": {
                "actor_id": str(emulator.agent_id),
                "external_id": ticket.get("external_id"),
                "id": str(ticket_id),
                "status": status.upper(),
                "priority": str(ticket.get("priority") or "normal").upper(),
                "requester_id": str(ticket["requester_id"]),
                "subject": ticket["subject"],
                "tags": ticket.get("tags", []),
            },
            "event": {"current": status.upper(), "previous": "OPEN"},
            "id": f"01J{uuid.uuid4().hex[:23].upper()}",
            "subject": f"zen:ticket:{ticket_id}",
            "time": "2026-11-25T10:00:00.123456789Z",
            "type": "zen:event-type:ticket.status_changed",
            "zendesk_event_version": "2022-11-06",
        }
    )
    headers = zendesk_signature.signed_headers(ZENDESK_SECRET, body, time.time())
    headers["content-type"] = "application/json"
    answer = httpx.post(server.url + "/webhooks/zendesk", content=body, headers=headers)
    assert answer.status_code == 202, answer.text


def view(server: Server, cid: str) -> dict:
    with server.admin() as admin:
        return admin.get(f"/conversations/{cid}").json()


@pytest.fixture(scope="module")
def story(server: Server, zendesk: tuple[ZendeskEmulator, str]) -> dict:
    """A conversation that got its ticket, which an agent then set pending; and a hostile one."""
    emulator, _ = zendesk
    customer = {"id": "cus_1906", "email": "grace@example.com", "name": "Grace Hopper"}
    send(
        server,
        payload(
            "conversation.started",
            STORY,
            customer=customer,
            subject="Charged twice for the annual plan",
            channel="web",
        ),
    )
    send(server, payload("intents.detected", STORY, intents=["billing_problem"]))
    send(server, message(STORY, content="I was charged twice for the annual plan this month."))
    send(server, message(STORY, role="assistant", content="I can see two charges; let me check."))
    send(
        server,
        payload(
            "tool.executed",
            STORY,
            tool="lookup_invoice",
            input={"customer": "cus_1906"},
            output={"invoices": 2},
            status="ok",
        ),
    )
    send(server, payload("conversation.escalated", STORY, reason="customer asked for a human"))
    ticketed = wait_until(
        lambda: (v := view(server, STORY))["ticket"] and v["pending_calls"] == 0 and v, timeout=20
    )
    status_changed(server, emulator, int(ticketed["ticket"]["id"]), "pending")
    wait_until(lambda: view(server, STORY)["status"] == "awaiting_customer")
    send(
        server,
        payload(
            "conversation.started",
            HOSTILE,
            customer={"id": "cus_666", "email": "mallory@example.com", "name": "<b>Mallory</b>"},
            subject=f"Refund {IMAGE}",
        ),
    )
    send(server, message(HOSTILE, content=f"{SCRIPT} please refund"))
    wait_until(lambda: view(server, HOSTILE)["message_count"] == 1)
    return ticketed


def sign_in(page, server: Server, path: str = "/ui") -> None:
    page.goto(server.url + path)
    page.fill("#token", ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_a_wrong_token_is_refused_and_the_right_one_signs_in(page, server: Server, story) -> None:
    page.goto(server.url + "/ui")
    page.fill("#token", "not-the-admin-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That is not the admin token.")
    assert page.context.cookies() == []
    page.fill("#token", ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Overview")
    [cookie] = page.context.cookies()
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/ui"
    assert ADMIN_TOKEN not in cookie["value"]
    assert ADMIN_TOKEN not in page.content()
    # The page's script cannot read the session.
    assert page.evaluate("document.cookie") == ""


def test_the_overview_refreshes_itself_in_place(page, server: Server, story) -> None:
    sign_in(page, server)
    before = int(page.locator("#log-position").inner_text())
    page.evaluate("window.__stayed = true")
    send(server, message(f"conv_{uuid.uuid4().hex[:8]}", content="hello"))
    expect(page.locator("#log-position")).not_to_have_text(str(before), timeout=15_000)
    # Swapped in by the script, not reloaded: what the page's script set is still there.
    assert page.evaluate("window.__stayed") is True


def test_find_a_conversation_by_id_and_by_customer(page, server: Server, story) -> None:
    sign_in(page, server)
    page.fill("#q", STORY)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(server.url + conversation_href(STORY))
    expect(page.locator("h1")).to_have_text(f"Conversation {STORY}")
    page.fill("#q", "grace@EXAMPLE")
    page.get_by_role("button", name="Search").click()
    results = page.locator("#results tbody tr")
    expect(results).to_have_count(1)
    expect(results).to_contain_text("Grace Hopper <grace@example.com> (cus_1906)")
    results.get_by_role("link", name=STORY).click()
    expect(page).to_have_url(server.url + conversation_href(STORY))


def test_the_conversation_tells_its_story_and_why(page, server: Server, story) -> None:
    sign_in(page, server, conversation_href(STORY))
    # Signing in returned to the page asked for.
    expect(page).to_have_url(server.url + conversation_href(STORY))
    why = page.locator("#explanation")
    expect(why).to_contain_text("Needs a ticket: yes")
    expect(why).to_contain_text(
        "ticket requested because the conversation was escalated: customer asked for a human"
    )
    expect(why).to_contain_text("Billing Team, high: primary intent billing_problem")
    expect(why).to_contain_text("Answering the customer: people")
    ticket = page.locator("#ticket a.desk")
    ticket_id = story["ticket"]["id"]
    expect(ticket).to_have_text(f"zendesk:{ticket_id} ↗")
    assert ticket.get_attribute("href") == story["ticket"]["url"]
    timeline = page.locator("#timeline li")
    types = timeline.locator(".type").all_inner_texts()
    for kind in (
        "conversation.started",
        "message.created",
        "tool.executed",
        "conversation.escalated",
        "ticket.requested",
        "ticket.created",
        "zen:event-type:ticket.status_changed",
    ):
        assert kind in types, (kind, types)
    # The ticket request names its cause, the tool run (the first rule that held);
    # following the link lands on it.
    requested = timeline.filter(has=page.locator(".type", has_text="ticket.requested"))
    cause = requested.locator("a.cause")
    expect(cause).to_contain_text("tool.executed")
    cause.click()
    anchor = re.search(r"#e\d+$", page.url)
    assert anchor, page.url
    expect(page.locator(anchor.group(0))).to_contain_text("tool.executed")
    expect(page.locator(anchor.group(0))).to_contain_text("lookup_invoice (ok)")
    page.locator(anchor.group(0)).scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(IMAGES / "console-conversation.png"))


def test_a_hostile_message_is_shown_as_text_and_runs_nothing(page, server: Server, story) -> None:
    sign_in(page, server, "/ui/conversations/" + HOSTILE)
    expect(page.locator("#timeline .summary").filter(has_text=SCRIPT)).to_have_count(1)
    expect(page.locator("#summary")).to_contain_text(f"Refund {IMAGE}")
    expect(page.locator("#summary")).to_contain_text("<b>Mallory</b>")
    assert page.locator("#summary b").count() == 0
    page.fill("#q", "mallory")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results")).to_contain_text(f"Refund {IMAGE}")
    assert page.locator("#results img").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_a_post_without_its_csrf_token_is_refused(page, server: Server, story) -> None:
    sign_in(page, server)
    status = page.evaluate(
        "fetch('/ui/sign-out', {method: 'POST', body: new URLSearchParams({})})"
        ".then(answer => answer.status)"
    )
    assert status == 403
    page.evaluate("document.querySelector('form.sign-out input[name=csrf]').remove()")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("h1")).to_have_text("Refused")
    expect(page.locator("p.error")).to_contain_text("CSRF")
    # Still signed in: the refused post changed nothing.
    page.goto(server.url + "/ui")
    expect(page.locator("h1")).to_have_text("Overview")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_a_parked_call_is_retried_and_goes_done(
    page, server: Server, zendesk: tuple[ZendeskEmulator, str], story
) -> None:
    emulator, _ = zendesk
    cid = "conv_parked"
    # Zendesk refuses the create with a 4xx: no retry helps, so the call is parked at once.
    emulator.fail_next(1, status=403, path="/api/v2/tickets(\\.json)?", method="POST")
    send(
        server,
        payload(
            "conversation.started",
            cid,
            customer={"id": "cus_42", "email": "alan@example.com", "name": "Alan Turing"},
            subject="Cannot export my data",
        ),
    )
    send(server, payload("intents.detected", cid, intents=["bug_report"]))
    send(server, payload("conversation.escalated", cid, reason="export fails every time"))
    with server.admin() as admin:
        [parked] = wait_until(
            lambda: [
                c
                for c in admin.get("/outbox", params={"state": "parked"}).json()["calls"]
                if c["conversation_id"] == cid
            ],
            timeout=20,
        )
    sign_in(page, server)
    expect(page.locator(".parked-link")).to_have_text("1 parked call")
    page.screenshot(path=str(IMAGES / "console-overview.png"))
    page.goto(server.url + "/ui/conversations/" + cid)
    waiting = page.locator("#calls tbody tr", has_text=parked["id"])
    expect(waiting.locator(".state")).to_have_text("parked")
    expect(waiting.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.locator("#explanation .pending")).to_contain_text("create_ticket, parked after 1")
    page.go_back()
    page.locator(".parked-link").click()
    row = page.locator("#calls tbody tr", has_text=parked["id"])
    expect(row).to_contain_text(cid)
    expect(row).to_contain_text(parked["last_error"])
    page.screenshot(path=str(IMAGES / "console-outbox.png"))
    emulator.clear_faults()  # the help desk recovers
    row.get_by_role("button", name="Retry").click()
    expect(page.locator(".flash")).to_have_text(
        f"Call {parked['id']} (create_ticket) was queued for another attempt."
    )
    page.goto(server.url + "/ui/outbox?state=done")
    done = page.locator("#calls tbody tr", has_text=parked["id"])
    expect(done.locator(".state")).to_have_text("done", timeout=15_000)
    page.goto(server.url + "/ui/conversations/" + cid)
    expect(page.locator("#ticket a.desk")).to_contain_text("zendesk:", timeout=15_000)


# ------------------------------------------------------------------ outside text


def test_no_outside_text_widens_a_page(page, server: Server) -> None:
    """A 10,000-character name with no spaces, in the search results and on its page."""
    cid = f"conv_wide_{uuid.uuid4().hex[:6]}"
    name = "W" * 10_000
    customer = {"id": f"cus_{cid}", "email": f"{cid}@example.com", "name": name}
    send(server, payload("conversation.started", cid, customer=customer, subject="S" * 10_000))
    send(server, message(cid, content="M" * 10_000))
    wait_until(lambda: view(server, cid)["message_count"] == 1)
    sign_in(page, server, f"/ui/search?q={cid}%40example")
    width = page.viewport_size["width"]
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.goto(server.url + conversation_href(cid))
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The timeline is not pushed pages down by the summary above it.
    top = page.locator("#timeline").bounding_box()["y"]
    assert top < 3 * page.viewport_size["height"], top
    page.locator("#timeline details").first.locator("summary").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_right_to_left_override_reorders_nothing_around_it(page, server: Server) -> None:
    cid = f"conv_rlo_{uuid.uuid4().hex[:6]}"
    customer = {"id": "cus_rlo", "email": "rlo@example.com", "name": "evil\u202etxt.exe"}
    send(server, payload("conversation.started", cid, customer=customer, subject="Refund"))
    wait_until(lambda: view(server, cid)["customer"] is not None)
    sign_in(page, server, conversation_href(cid))
    shown = page.locator("#summary dd").nth(1)  # status, then customer
    # What is read is what was sent, the override as its visible escape, in order.
    expect(shown).to_have_text("evil\\u202etxt.exe <rlo@example.com> (cus_rlo)")
    expect(shown.locator(".invisible")).to_have_text("\\u202e")
    # And laid out in that order: each piece starts right of the one before it.
    pieces = shown.locator("bdi.outside")
    expect(pieces).to_have_count(3)
    lefts = [pieces.nth(i).bounding_box()["x"] for i in range(3)]
    assert lefts == sorted(lefts), lefts
    name = pieces.nth(0)
    evil = name.evaluate(
        "node => { const r = document.createRange(); r.setStart(node.firstChild, 0);"
        " r.setEnd(node.firstChild, 4); return r.getBoundingClientRect().x; }"
    )
    escape = name.locator(".invisible").bounding_box()["x"]
    assert evil < escape, (evil, escape)


def test_times_are_shown_in_the_viewers_own_zone_to_the_second(
    browser, server: Server, story
) -> None:
    """The server sends UTC; the page's script shows each time in the viewer's zone, to the
    second, and the whole value stays on hover."""
    context = browser.new_context(viewport=VIEWPORT, timezone_id="Asia/Tokyo", locale="en-GB")
    try:
        page = context.new_page()
        sign_in(page, server, conversation_href(STORY))
        first = page.locator("#timeline time").first
        moment = datetime.fromisoformat(first.get_attribute("datetime").replace("Z", "+00:00"))
        tokyo = moment.astimezone(timezone(timedelta(hours=9)))
        expect(first).to_contain_text(tokyo.strftime("%H:%M:%S"))
        expect(first).to_contain_text("GMT+9")
        assert first.get_attribute("title") == first.get_attribute("datetime")
    finally:
        context.close()
