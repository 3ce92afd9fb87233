"""Every listing of the outbox is paged: GET /outbox, `outbox list` and the console's outbox
each show a page and the way to the next, and `outbox retry --all-parked` takes every parked
call however many (SQLite and PostgreSQL).

The calls are written straight into the outbox, a few thousand in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from tests.support import ADMIN_TOKEN, CHAT_SECRET
from ticketsync.service import bootstrap, config
from ticketsync.service.cli import main as cli
from ticketsync.service.http import app as http
from ticketsync.service.store.calls import Call, new_call
from ticketsync.service.store.log import AuditQuery

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NOW = 1_800_000_000.0
STATES = ("pending", "parked", "done")


@pytest.fixture
def environ(database_url: str) -> dict[str, str]:
    return {
        "TICKETSYNC_DATABASE_URL": database_url,
        "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
        "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
    }


@pytest.fixture
def container(environ: dict[str, str]) -> Iterator[bootstrap.Container]:
    built = bootstrap.build(config.load(environ), run_workers=False, clock=lambda: NOW)
    yield built
    built.close()


@pytest.fixture
def client(container: bootstrap.Container) -> Iterator[TestClient]:
    with TestClient(http.create_app(container), follow_redirects=False) as started:
        yield started


@pytest.fixture
def cli_env(environ: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ticketsync` run in this process reads this test's database."""
    monkeypatch.chdir(tmp_path)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)


def call(n: int, state: str) -> Call:
    decided = new_call(
        call_id=f"call-{n:05}",
        conversation_id=f"c{n % 97}",
        kind="add_comment",
        command="{}",
        now=NOW - 10_000 + n,
        queued_key=f"chat:c{n % 97}.queued",
        cause_position=1,
    )
    return replace(decided, state=state)


def add(container: bootstrap.Container, calls: list[Call]) -> list[str]:
    with container.store.transaction() as tx:
        tx.add_calls(calls)
    return [c.call_id for c in calls]


def mixed(container: bootstrap.Container, count: int) -> list[str]:
    """`count` calls, their states taking turns; their ids, oldest first."""
    return add(container, [call(n, STATES[n % 3]) for n in range(count)])


def listed(client: TestClient, **params: str) -> tuple[list[str], int]:
    """Every call GET /outbox lists, page after page; and how many pages it took."""
    ids: list[str] = []
    pages = 0
    after: str | None = None
    while True:
        answer = client.get("/outbox", params={**params, **({"after": after} if after else {})})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        ids += [c["id"] for c in body["calls"]]
        pages += 1
        after = body["next"]
        if after is None:
            return ids, pages
        assert isinstance(after, str)


def test_every_call_is_listed_once_over_pages(container, client: TestClient) -> None:
    every = mixed(container, 2345)
    client.headers.update(AUTH)
    first = client.get("/outbox").json()
    assert len(first["calls"]) == 1000  # the default page, and a sign that there is more
    assert first["next"] is not None
    ids, pages = listed(client)
    assert (ids, pages) == (every, 3)  # in order, none twice, none left out
    parked = [cid for cid, n in zip(every, range(len(every)), strict=True) if n % 3 == 1]
    assert listed(client, state="parked", limit="7") == (parked, -(-len(parked) // 7))
    # A page that ends exactly at the last call says there is none after it.
    assert client.get("/outbox", params={"limit": "1000", "after": "1345"}).json()["next"] is None


def test_a_page_keeps_its_place_while_calls_change_state(container, client: TestClient) -> None:
    every = mixed(container, 30)
    client.headers.update(AUTH)
    page = client.get("/outbox", params={"limit": "10"}).json()
    with container.store.transaction() as tx:  # the first page's calls are all done meanwhile
        tx.execute("UPDATE ticketsync_outbox SET state = 'done' WHERE seq <= 10")
    rest = client.get("/outbox", params={"after": page["next"]}).json()
    assert [c["id"] for c in page["calls"] + rest["calls"]] == every


LIMIT = "limit must be a whole number from 1 to 1000"
AFTER = "after must be the 'next' cursor of a previous page"


@pytest.mark.parametrize(
    ("query", "field", "detail"),
    [
        ("limit=0", "limit", LIMIT),
        ("limit=1001", "limit", LIMIT),
        ("limit=ten", "limit", LIMIT),
        ("limit=-1", "limit", LIMIT),
        ("limit=%C2%B2", "limit", LIMIT),  # a superscript two: a digit to str.isdigit, not int()
        ("after=x", "after", AFTER),
        ("after=-1", "after", AFTER),
        ("after=99999999999999999999", "after", AFTER),
        ("after=1&after=2", "after", "after is given more than once"),
        ("state=lost", "state", "state must be pending, parked or done"),
    ],
)
def test_a_bad_page_is_refused_naming_its_parameter(
    client: TestClient, query: str, field: str, detail: str
) -> None:
    answer = client.get(f"/outbox?{query}", headers=AUTH)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_query", "detail": detail, "field": field}


def test_outbox_list_pages_and_says_how_to_get_the_next(container, cli_env, capsys) -> None:
    every = mixed(container, 25)
    assert cli.main(["outbox", "list", "--limit", "10"]) == 0
    shown = capsys.readouterr().out
    assert "call-00009" in shown
    assert "call-00010" not in shown
    [hint] = re.findall(r"more calls: (.*)", shown)
    assert hint == "ticketsync outbox list --limit 10 --after 10"
    ids: list[str] = []
    args = ["outbox", "list", "--limit", "10", "--json"]
    while True:
        assert cli.main(args) == 0
        out, err = capsys.readouterr()
        ids += [orjson.loads(line)["id"] for line in out.splitlines()]  # JSON lines only
        hinted = re.findall(r"more calls: ticketsync (.*)", err)
        if not hinted:
            break
        args = hinted[0].split()
    assert ids == every
    assert cli.main(["outbox", "list", "--state", "done", "--limit", "3"]) == 0
    assert "outbox list --state done --limit 3 --after 9" in capsys.readouterr().out
    assert cli.main(["outbox", "list", "--limit", "1001"]) == 2
    assert "--limit: limit must be a whole number from 1 to 1000" in capsys.readouterr().err
    assert cli.main(["outbox", "list", "--after", "next"]) == 2
    assert "--after" in capsys.readouterr().err


def test_retry_all_parked_takes_every_parked_call(container, cli_env, capsys) -> None:
    parked = add(container, [call(n, "parked") for n in range(1234)])
    add(container, [call(n, "done") for n in range(1234, 1240)])
    assert cli.main(["outbox", "retry", "--all-parked"]) == 0
    out = capsys.readouterr().out
    assert "1234 calls due now" in out
    assert container.store.unfinished_calls() == {"pending": 1234, "parked": 0}
    found, _ = container.log.query(AuditQuery(type="call.retried", limit=1000))
    after = found[-1].position
    more, _ = container.log.query(AuditQuery(type="call.retried", after=after, limit=1000))
    assert len(found) + len(more) == 1234  # each retried once
    assert {line.partition(":")[0] for line in out.splitlines()[:-1]} == set(parked)
    assert cli.main(["outbox", "retry", "--all-parked"]) == 0
    assert "no parked calls" in capsys.readouterr().out


def test_retry_all_parked_ends_though_calls_park_again_while_it_runs(container) -> None:
    parked = add(container, [call(n, "parked") for n in range(10)])
    dispatcher = container.dispatcher
    first, cursor = dispatcher.retry_parked(0, limit=4)
    assert [c.call_id for c in first] == parked[:4]
    with container.store.transaction() as tx:  # a retried one fails again, and a new one parks
        tx.execute("UPDATE ticketsync_outbox SET state = 'parked' WHERE call_id = ?", (parked[0],))
        tx.add_calls([call(50, "parked")])
    retried = [c.call_id for c in first]
    while cursor is not None:
        page, cursor = dispatcher.retry_parked(cursor, limit=4)
        retried += [c.call_id for c in page]
    assert retried == [*parked, "call-00050"]  # each once; the one parked again waits
    assert [c.call_id for c in container.store.calls("parked")] == [parked[0]]


def test_the_consoles_outbox_shows_a_page_and_a_link_to_the_next(
    container, client: TestClient
) -> None:
    every = mixed(container, 1001)
    assert client.post("/ui/sign-in", data={"token": ADMIN_TOKEN}).status_code == 303
    page = client.get("/ui/outbox").text
    assert every[999] in page
    assert every[1000] not in page
    [next_page] = re.findall(r'<a href="([^"]+)" class="next-page">next page</a>', page)
    assert next_page == "/ui/outbox?after=1000"
    assert "first-page" not in page
    last = client.get(next_page).text
    assert every[1000] in last
    assert every[999] not in last
    assert "next-page" not in last
    assert 'href="/ui/outbox" class="first-page"' in last
    parked = client.get("/ui/outbox", params={"state": "parked", "limit": "2"}).text
    assert re.findall(r'href="([^"]+)" class="next-page"', parked) == [
        "/ui/outbox?state=parked&amp;after=5&amp;limit=2"
    ]
    # A retry from a later page comes back to it.
    assert (
        'name="after" value="5"'
        in client.get("/ui/outbox", params={"state": "parked", "after": "5", "limit": "2"}).text
    )
    assert client.get("/ui/outbox", params={"after": "soon"}).status_code == 404
