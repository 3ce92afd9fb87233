"""The alert decision (projections/alerts.py) as tables, and the webhook alert adapter."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import orjson
import pytest

from ticketsync.adapters.alerts import WebhookAlerts
from ticketsync.adapters.ports import Permanent, RateLimited, Retryable
from ticketsync.events.commands import SendAlert
from ticketsync.projections.alerts import (
    AlertPolicy,
    AlertState,
    CallOutcome,
    FailingRun,
    ParkedCall,
    console_link,
    decide_alerts,
    decide_overdue,
)

POLICY = AlertPolicy(after=300.0, console_url="https://ops.example")


def outcome(outcome: str = "failed", **fields: object) -> CallOutcome:
    values: dict[str, object] = {
        "call_id": "call-7-0",
        "kind": "create_ticket",
        "system": "zendesk",
        "conversation_id": "conv_1",
        "outcome": outcome,
        "error": "Zendesk answered 503: Service Unavailable",
        "at": 1000.0,
        "attempt": 3,
    }
    return CallOutcome(**{**values, **fields})  # type: ignore[arg-type]


def parked_call(**fields: object) -> ParkedCall:
    values: dict[str, object] = {
        "call_id": "call-7-0",
        "kind": "create_ticket",
        "system": "zendesk",
        "conversation_id": "conv_1",
    }
    return ParkedCall(**{**values, **fields})  # type: ignore[arg-type]


def run(**fields: object) -> FailingRun:
    values: dict[str, object] = {
        "system": "zendesk",
        "since": 1000.0,
        "failures": 1,
        "conversation_id": "conv_1",
        "error": "Zendesk answered 503: Service Unavailable",
    }
    return FailingRun(**{**values, **fields})  # type: ignore[arg-type]


def told(alerts: tuple[SendAlert, ...]) -> list[tuple[str, bool]]:
    return [(alert.incident, alert.recovered) for alert in alerts]


CASES = [
    pytest.param(
        AlertState(),
        outcome("parked"),
        [("parked:call-7-0", False)],
        id="a-parked-call-is-told",
    ),
    pytest.param(
        AlertState(parked=(parked_call(),), runs=(run(),)),
        outcome("parked", at=1010.0),
        [],
        id="parked-again-is-the-same-incident",
    ),
    pytest.param(
        AlertState(parked=(parked_call(),)),
        outcome("failed"),
        [],
        id="a-retried-parked-call-that-fails-is-still-the-same-incident",
    ),
    pytest.param(
        AlertState(parked=(parked_call(),)),
        outcome("done"),
        [("parked:call-7-0", True)],
        id="retried-and-done-is-a-recovery",
    ),
    pytest.param(
        AlertState(),
        outcome("done"),
        [],
        id="done-without-an-incident-says-nothing",
    ),
    pytest.param(
        AlertState(),
        outcome("failed"),
        [],
        id="one-failure-starts-a-run-quietly",
    ),
    pytest.param(
        AlertState(runs=(run(),)),
        outcome("failed", at=1299.0),
        [],
        id="a-run-shorter-than-after-is-not-told",
    ),
    pytest.param(
        AlertState(runs=(run(),)),
        outcome("failed", at=1300.0, call_id="call-9-0", conversation_id="conv_2"),
        [("failing:zendesk:1000000", False)],
        id="a-run-as-long-as-after-is-told",
    ),
    pytest.param(
        AlertState(runs=(run(alerted=True),)),
        outcome("failed", at=2000.0),
        [],
        id="a-run-is-told-once",
    ),
    pytest.param(
        AlertState(runs=(run(alerted=True),)),
        outcome("done", at=2000.0, call_id="call-9-0"),
        [("failing:zendesk:1000000", True)],
        id="the-next-success-ends-a-told-run",
    ),
    pytest.param(
        AlertState(runs=(run(),)),
        outcome("done", at=1100.0),
        [],
        id="a-run-that-ends-before-it-was-told-says-nothing",
    ),
    pytest.param(
        AlertState(runs=(run(system="chat"),)),
        outcome("failed", at=1400.0),
        [],
        id="another-systems-run-is-its-own",
    ),
    pytest.param(
        AlertState(),
        outcome("parked", kind="send_alert", system="alerts"),
        [],
        id="no-alert-about-an-alert-call",
    ),
    pytest.param(
        AlertState(runs=(run(system="alerts"),)),
        outcome("failed", kind="send_alert", system="alerts", at=5000.0),
        [],
        id="no-alert-about-the-alert-channel-failing",
    ),
]


@pytest.mark.parametrize("state, event, expected", CASES)
def test_decide_alerts(state: AlertState, event: CallOutcome, expected: list) -> None:
    assert told(decide_alerts(state, event, POLICY)[1]) == expected


def test_a_run_ends_with_its_success_and_the_next_failure_starts_another() -> None:
    state, _ = decide_alerts(AlertState(runs=(run(alerted=True),)), outcome("done"), POLICY)
    assert state.runs == ()
    state, _ = decide_alerts(state, outcome("failed", at=3000.0), POLICY)
    assert state.runs == (run(since=3000.0),)


def test_overdue_runs_are_told_by_the_clock_once() -> None:
    state = AlertState(runs=(run(), run(system="chat", since=1200.0)))
    state, alerts = decide_overdue(state, 1350.0, POLICY)
    assert told(alerts) == [("failing:zendesk:1000000", False)]
    assert decide_overdue(state, 1400.0, POLICY)[1] == ()
    assert told(decide_overdue(state, 1500.0, POLICY)[1]) == [("failing:chat:1200000", False)]


def test_a_parked_alert_names_the_conversation_desk_words_and_console() -> None:
    _, (alert,) = decide_alerts(AlertState(), outcome("parked", attempt=25), POLICY)
    assert "Zendesk" in alert.text
    assert "Zendesk answered 503: Service Unavailable" in alert.text
    assert "conv_1" in alert.text
    assert "create_ticket" in alert.text
    assert "25 attempts" in alert.text
    assert "https://ops.example/ui/conversations/conv_1" in alert.text


def test_a_failing_desk_alert_says_how_long_and_its_last_words() -> None:
    state = AlertState(runs=(run(failures=4, system="jira"),))
    _, (alert,) = decide_alerts(
        state, outcome("failed", at=1600.0, error="Jira answered 502", system="jira"), POLICY
    )
    assert alert.text.startswith("ticketsync: Jira has kept failing")
    state = AlertState(runs=(run(failures=4),))
    _, (alert,) = decide_alerts(state, outcome("failed", at=1600.0), POLICY)
    assert "10 min" in alert.text
    assert "5 failed attempts" in alert.text
    assert '"Zendesk answered 503: Service Unavailable"' in alert.text


@pytest.mark.parametrize(
    "system, name",
    [("local", "the built-in help desk"), ("chat", "the chat reply endpoint"), ("jira", "Jira")],
)
def test_each_system_is_named_for_people(system: str, name: str) -> None:
    _, (alert,) = decide_alerts(AlertState(), outcome("parked", system=system), POLICY)
    assert f"call to {name} is parked" in alert.text


def test_words_from_outside_cannot_mention_or_link_in_the_channel() -> None:
    _, (alert,) = decide_alerts(
        AlertState(),
        outcome("parked", conversation_id="c<!channel>", error="<https://evil|click> & more"),
        POLICY,
    )
    assert "<" not in alert.text.replace("&lt;", "")
    assert "&lt;!channel&gt;" in alert.text
    assert "&amp; more" in alert.text


@pytest.mark.parametrize("conversation_id", ["conv_1", "a/b c?d#e", "ünï", "50%"])
def test_the_console_link_quotes_the_conversation_id(conversation_id: str) -> None:
    assert console_link("http://h", conversation_id) == "http://h/ui/conversations/" + quote(
        conversation_id, safe=""
    )


# ------------------------------------------------------------------ the adapter

ALERT = SendAlert(
    incident="parked:call-1-0", recovered=False, conversation_id="c1", system="zendesk", text="hi"
)


def sender(handler) -> WebhookAlerts:  # type: ignore[no-untyped-def]
    return WebhookAlerts(
        "https://hooks.example/services/T0/B0/secret-token",
        transport=httpx.MockTransport(handler),
        clock=lambda: 1000.0,
    )


def test_an_alert_is_one_post_of_its_text() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    sender(handler).send(ALERT)
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "https://hooks.example/services/T0/B0/secret-token"
    assert request.headers["content-type"] == "application/json"
    assert orjson.loads(request.content) == {"text": "hi"}


@pytest.mark.parametrize(
    "response, error, retry_after",
    [
        (httpx.Response(503, text="down"), Retryable, None),
        (httpx.Response(503, headers={"retry-after": "7"}), Retryable, 7.0),
        (httpx.Response(429), RateLimited, 60.0),
        (httpx.Response(404, text="no_service"), Permanent, None),
        (httpx.Response(400, text="invalid_payload"), Permanent, None),
    ],
)
def test_the_channels_answers_read_as_the_ports_errors(
    response: httpx.Response, error: type, retry_after: float | None
) -> None:
    with pytest.raises(error) as raised:
        sender(lambda request: response).send(ALERT)
    assert type(raised.value) is error
    assert getattr(raised.value, "retry_after", None) == retry_after
    assert raised.value.status == response.status_code
    assert "secret-token" not in raised.value.detail


def test_an_unreachable_channel_is_retried_and_its_url_never_shown() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(Retryable) as raised:
        sender(handler).send(ALERT)
    assert "secret-token" not in raised.value.detail
    assert "secret-token" not in repr(sender(handler))


def test_a_refusal_is_an_answer_it_ends_a_run_and_starts_none() -> None:
    refused = outcome("parked", transient=False, at=1400.0)
    state, alerts = decide_alerts(AlertState(runs=(run(alerted=True),)), refused, POLICY)
    assert told(alerts) == [("parked:call-7-0", False), ("failing:zendesk:1000000", True)]
    assert state.runs == ()
    assert decide_alerts(AlertState(), refused, POLICY)[0].runs == ()
