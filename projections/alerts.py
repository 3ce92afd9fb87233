"""When an admin is told: a pure decision over the outbox's outcomes, and each alert's words.

Two kinds of incident, each told once when it starts and once more when it ends:

| incident            | starts                                        | ends (recovery)               |
|---------------------|-----------------------------------------------|-------------------------------|
| a parked call       | the call is parked                            | it is retried and done        |
| a help desk failing | a run of failed attempts to one system has    | the next attempt to that      |
|                     | lasted `after` seconds (from its first)       | system that is answered       |

A failed attempt is one the system did not answer as itself: an outage, a timeout, a rate
limit (a transient failure). A refusal (bad data, bad credentials, a closed ticket) is an
answer: it parks its call, which is an incident of its own, and ends a run.

A run is judged when its next failure arrives, and by `decide_overdue` at any time, so a
desk whose next attempt waits behind a long backoff is still reported on time. Alert
calls' own outcomes are passed over: an alert channel that is down is never alerted about.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from ticketsync.events.commands import SendAlert

ALERT_KIND = "send_alert"

# The log entry types of an attempt's outcome, and what each says of the attempt.
OUTCOME_ENTRIES: dict[str, Literal["failed", "parked", "done"]] = {
    "call.failed": "failed",
    "call.parked": "parked",
    "call.sent": "done",
    "ticket.created": "done",
    # The help desk answered (the ticket was closed or deleted) and the call ended.
    "call.refused": "done",
}

# Each system as an admin knows it.
SYSTEM_NAMES = {
    "zendesk": "Zendesk",
    "jira": "Jira",
    "local": "the built-in help desk",
    "chat": "the chat reply endpoint",
}

# An error longer than this is cut: the message must stay readable in a chat channel.
MAX_ERROR = 500


@dataclass(frozen=True, kw_only=True)
class CallOutcome:
    """One attempt's outcome, as the outbox recorded it in the log."""

    call_id: str
    kind: str
    system: str
    conversation_id: str | None
    outcome: Literal["failed", "parked", "done"]
    error: str | None
    at: float  # seconds since the epoch
    attempt: int = 0
    # The failure was the system's trouble (an outage, a timeout, a rate limit), not its
    # answer to this call (a refusal): only such failures make a run.
    transient: bool = True


@dataclass(frozen=True, kw_only=True)
class ParkedCall:
    call_id: str
    kind: str
    system: str
    conversation_id: str | None


@dataclass(frozen=True, kw_only=True)
class FailingRun:
    """Consecutive failed attempts to one system, from the first."""

    system: str
    since: float
    failures: int
    conversation_id: str | None  # of the latest failure
    error: str | None  # the latest failure's words
    alerted: bool = False


@dataclass(frozen=True, kw_only=True)
class AlertState:
    """The incidents open now: parked calls told about, and failing runs."""

    parked: tuple[ParkedCall, ...] = ()
    runs: tuple[FailingRun, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AlertPolicy:
    after: float  # seconds a run lasts before it is told
    console_url: str  # the console's base, for links


def decide_alerts(
    state: AlertState, outcome: CallOutcome, policy: AlertPolicy
) -> tuple[AlertState, tuple[SendAlert, ...]]:
    """The state after `outcome`, and the alerts it asks for."""
    if outcome.kind == ALERT_KIND:
        return state, ()
    alerts: list[SendAlert] = []
    parked = {call.call_id: call for call in state.parked}
    runs = {run.system: run for run in state.runs}
    if outcome.outcome == "parked" and outcome.call_id not in parked:
        call = ParkedCall(
            call_id=outcome.call_id,
            kind=outcome.kind,
            system=outcome.system,
            conversation_id=outcome.conversation_id,
        )
        parked[call.call_id] = call
        alerts.append(_parked_alert(call, outcome, policy))
    elif outcome.outcome == "done" and outcome.call_id in parked:
        alerts.append(_parked_recovered(parked.pop(outcome.call_id), policy))
    run = runs.get(outcome.system)
    if outcome.outcome == "done" or not outcome.transient:  # the system answered
        if run is not None:
            del runs[outcome.system]
            if run.alerted:
                alerts.append(_desk_recovered(run, outcome.at, policy))
    else:
        run = FailingRun(
            system=outcome.system,
            since=run.since if run else outcome.at,
            failures=(run.failures if run else 0) + 1,
            conversation_id=outcome.conversation_id,
            error=outcome.error,
            alerted=run.alerted if run else False,
        )
        runs[outcome.system] = run
        if not run.alerted and outcome.at - run.since >= policy.after:
            runs[outcome.system] = replace(run, alerted=True)
            alerts.append(_desk_failing(run, outcome.at, policy))
    new = AlertState(parked=tuple(parked.values()), runs=tuple(runs.values()))
    return new, tuple(alerts)


def decide_overdue(
    state: AlertState, now: float, policy: AlertPolicy
) -> tuple[AlertState, tuple[SendAlert, ...]]:
    """Runs that have lasted `after` seconds by `now` without a word: tell them now."""
    alerts = []
    runs = []
    for run in state.runs:
        if not run.alerted and now - run.since >= policy.after:
            alerts.append(_desk_failing(run, now, policy))
            run = replace(run, alerted=True)
        runs.append(run)
    if not alerts:
        return state, ()
    return replace(state, runs=tuple(runs)), tuple(alerts)


# RFC 3986's unreserved characters: everything else in a path segment is percent-encoded.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def quote_segment(text: str) -> str:
    """`text` as one URL path segment (a slash in an id is encoded too)."""
    return "".join(
        char if char in _UNRESERVED else "".join(f"%{byte:02X}" for byte in char.encode())
        for char in text
    )


def console_link(console_url: str, conversation_id: str) -> str:
    """The console's page of a conversation."""
    return f"{console_url}/ui/conversations/{quote_segment(conversation_id)}"


def system_name(system: str) -> str:
    return SYSTEM_NAMES.get(system, system)


def _escape(text: str) -> str:
    # Slack reads <...> as links and mentions (<!channel>) and &-escapes; words that came
    # from a webhook or a help desk must show as they are and ping no one.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _words(error: str | None) -> str:
    if not error:
        return "no error words were recorded"
    cut = error if len(error) <= MAX_ERROR else error[: MAX_ERROR - 1] + "…"
    return f'"{_escape(cut)}"'


def _conversation(conversation_id: str | None, policy: AlertPolicy) -> str:
    if conversation_id is None:
        return ""
    link = console_link(policy.console_url, conversation_id)
    return f" Conversation {_escape(conversation_id)}: {link}"


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _parked_alert(call: ParkedCall, outcome: CallOutcome, policy: AlertPolicy) -> SendAlert:
    attempts = f" after {outcome.attempt} attempts" if outcome.attempt > 1 else ""
    text = (
        f"ticketsync: a {call.kind} call to {system_name(call.system)} is parked{attempts} "
        f"and waits for a person. {system_name(call.system).capitalize()} said: "
        f"{_words(outcome.error)}. Call {call.call_id}."
        + _conversation(call.conversation_id, policy)
    )
    return SendAlert(
        incident=f"parked:{call.call_id}",
        recovered=False,
        conversation_id=call.conversation_id,
        system=call.system,
        text=text,
    )


def _parked_recovered(call: ParkedCall, policy: AlertPolicy) -> SendAlert:
    text = (
        f"ticketsync: resolved: the parked {call.kind} call to {system_name(call.system)} "
        f"was retried and is done. Call {call.call_id}."
        + _conversation(call.conversation_id, policy)
    )
    return SendAlert(
        incident=f"parked:{call.call_id}",
        recovered=True,
        conversation_id=call.conversation_id,
        system=call.system,
        text=text,
    )


def _run_incident(run: FailingRun) -> str:
    return f"failing:{run.system}:{round(run.since * 1000)}"


def _desk_failing(run: FailingRun, now: float, policy: AlertPolicy) -> SendAlert:
    name = system_name(run.system)
    failures = "1 failed attempt" if run.failures == 1 else f"{run.failures} failed attempts"
    text = (
        f"ticketsync: {name} has kept failing for {_duration(now - run.since)} "
        f"({failures} since {_clock(run.since)}); calls to it wait and are retried. "
        f"Its last error: {_words(run.error)}." + _conversation(run.conversation_id, policy)
    )
    return SendAlert(
        incident=_run_incident(run),
        recovered=False,
        conversation_id=run.conversation_id,
        system=run.system,
        text=text,
    )


def _desk_recovered(run: FailingRun, now: float, policy: AlertPolicy) -> SendAlert:
    name = system_name(run.system)
    text = (
        f"ticketsync: resolved: {name} answers again, after failing for "
        f"{_duration(now - run.since)} (since {_clock(run.since)})."
        + _conversation(run.conversation_id, policy)
    )
    return SendAlert(
        incident=_run_incident(run),
        recovered=True,
        conversation_id=run.conversation_id,
        system=run.system,
        text=text,
    )
