"""The log lines that follow a conversation: a webhook's request line and the outbox
attempt it caused share the delivery id and the conversation id; no secret, no body."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from tests.fakes import FakeHelpDesk
from tests.support import ADMIN_TOKEN, CHAT_SECRET, OTHER_SECRET, message, signed
from ticketsync.service import bootstrap, config
from ticketsync.service.http import app as http
from ticketsync.service.logs import JsonFormatter

SECRET_HEADER = "sk-live-do-not-log-0123456789"
BODY_WORDS = "my card number is 4111 1111 1111 1111"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[TestClient, bootstrap.Container]]:
    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
            "TICKETSYNC_TICKET_POLICY": "always",  # one user message opens a ticket
        }
    )
    container = bootstrap.build(settings, help_desk=FakeHelpDesk(), run_workers=False)
    try:
        with TestClient(http.asgi(container)) as client:
            yield client, container
    finally:
        container.close()


def lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    formatter = JsonFormatter()
    return [orjson.loads(formatter.format(record)) for record in caplog.records]


def test_one_grep_follows_a_delivery_to_the_call_it_caused(
    service: tuple[TestClient, bootstrap.Container], caplog: pytest.LogCaptureFixture
) -> None:
    client, container = service
    caplog.set_level(logging.INFO)
    body, headers = signed(message("conv_trace", content=BODY_WORDS), webhook_id="wh_trace_1")
    headers |= {"x-request-id": "req-7f3a", "authorization": f"Bearer {SECRET_HEADER}"}
    answer = client.post("/webhooks/chat", content=body, headers=headers)
    assert answer.status_code == 202
    assert answer.headers["x-request-id"] == "req-7f3a"
    container.projector.run_once()
    container.dispatcher.run_once()
    logged = lines(caplog)
    (request,) = [line for line in logged if line["event"] == "http.request"]
    assert request["request_id"] == "req-7f3a"
    assert request["delivery_id"] == "wh_trace_1"
    assert request["conversation_id"] == "conv_trace"
    (accepted,) = [line for line in logged if line["event"] == "webhook.accepted"]
    assert (accepted["delivery_id"], accepted["conversation_id"]) == ("wh_trace_1", "conv_trace")
    (attempt,) = [line for line in logged if line["event"] == "outbox.attempt"]
    assert attempt["conversation_id"] == "conv_trace"
    assert (attempt["cause_source"], attempt["delivery_id"]) == ("chat", "wh_trace_1")
    assert (attempt["kind"], attempt["system"], attempt["outcome"]) == (
        "create_ticket",
        "fake",
        "done",
    )
    assert attempt["attempt"] == 1
    assert attempt["ms"] >= 0
    text = "\n".join(orjson.dumps(line).decode() for line in logged)
    assert SECRET_HEADER not in text
    assert "4111" not in text
    assert CHAT_SECRET not in text
    assert headers["webhook-signature"] not in text


@pytest.mark.parametrize("sent", ["", "has space", "x" * 129, 'quote"d', "tab\there", "semi;colon"])
def test_a_request_id_that_is_not_plain_is_replaced(
    service: tuple[TestClient, bootstrap.Container], sent: str
) -> None:
    client, _ = service
    answer = client.get("/healthz", headers={"x-request-id": sent})
    echoed = answer.headers["x-request-id"]
    assert echoed != sent
    assert echoed  # a new one


def test_each_request_without_an_id_gets_its_own(
    service: tuple[TestClient, bootstrap.Container], caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = service
    caplog.set_level(logging.INFO)
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
    logged = {line["request_id"] for line in lines(caplog) if line["event"] == "http.request"}
    assert logged == ids


def test_a_refused_webhook_line_names_its_request(
    service: tuple[TestClient, bootstrap.Container], caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = service
    caplog.set_level(logging.INFO)
    body, headers = signed(message("conv_x"), secret=OTHER_SECRET)
    headers["x-request-id"] = "req-refused"
    assert client.post("/webhooks/chat", content=body, headers=headers).status_code == 401
    (refused,) = [line for line in lines(caplog) if line["event"] == "webhook.rejected"]
    assert refused["request_id"] == "req-refused"
