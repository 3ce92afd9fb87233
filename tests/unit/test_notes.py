"""The ticket's subject, summary note and link note (CONTRACT section 4)."""

from __future__ import annotations

import pytest

from ticketsync.projections.notes import link_note, subject, summary_note


def summary(**overrides) -> str:
    fields = {
        "first_user_message": "I was charged twice for my subscription this month.",
        "last_assistant_message": "I have asked our billing team to refund the second charge.",
        "message_count": 6,
        "tools": ("lookup_invoice", "issue_refund", "lookup_invoice"),
        "escalation_reason": "Refund needs human approval",
    }
    return summary_note(**(fields | overrides))


def link(**overrides) -> str:
    fields = {
        "conversation_id": "conv_42",
        "message_count": 2,
        "tools": ("lookup_invoice",),
        "intents": ("billing_problem",),
        "transcript": (("user", "Charged twice"), ("assistant", "Let me check.")),
    }
    return link_note(**(fields | overrides))


def section(note: str, heading: str) -> str:
    """The line after a heading of the summary note."""
    lines = note.split("\n")
    return lines[lines.index(heading) + 1]


def test_summary_of_a_typical_conversation() -> None:
    assert summary() == (
        "CUSTOMER ISSUE:\n"
        "I was charged twice for my subscription this month.\n"
        "\n"
        "AI AGENT RESPONSE:\n"
        "I have asked our billing team to refund the second charge.\n"
        "\n"
        "CONVERSATION LENGTH: 6 messages\n"
        "TOOLS USED: lookup_invoice, issue_refund\n"
        "ESCALATION REASON: Refund needs human approval"
    )


def test_summary_without_messages_tools_or_reason() -> None:
    assert summary(
        first_user_message=None,
        last_assistant_message=None,
        message_count=0,
        tools=(),
        escalation_reason=None,
    ) == (
        "CUSTOMER ISSUE:\n"
        "\n"
        "\n"
        "AI AGENT RESPONSE:\n"
        "\n"
        "\n"
        "CONVERSATION LENGTH: 0 messages\n"
        "TOOLS USED: none\n"
        "ESCALATION REASON: None"
    )


MESSAGE_CASES = [
    pytest.param("a" * 300, "a" * 300, id="exactly-300-kept"),
    pytest.param("a" * 299 + "bc", "a" * 299 + "b", id="cut-at-300"),
    pytest.param("é" * 301, "é" * 300, id="counts-characters-not-bytes"),
    pytest.param("😀" * 400, "😀" * 300, id="astral-characters-whole"),
    pytest.param("a" * 299 + "e\u0301xyz", "a" * 299, id="combining-mark-not-orphaned"),
    pytest.param("  hello  \n", "hello", id="surrounding-whitespace-stripped"),
    pytest.param("line one\r\nline two", "line one", id="crlf-becomes-newline"),
    pytest.param("nul\x00 byte\x07", "nul byte", id="control-characters-dropped"),
    pytest.param("bad \ud800 half", "bad \ufffd half", id="lone-surrogate-replaced"),
    pytest.param("pair \ud83d\ude00", "pair 😀", id="surrogate-pair-joined"),
    pytest.param("   ", "", id="blank-is-empty"),
    pytest.param(None, "", id="missing-is-empty"),
]


@pytest.mark.parametrize("message, shown", MESSAGE_CASES)
def test_summary_messages(message, shown) -> None:
    as_user = summary(first_user_message=message)
    as_assistant = summary(last_assistant_message=message)
    assert section(as_user, "CUSTOMER ISSUE:") == shown
    assert section(as_assistant, "AI AGENT RESPONSE:") == shown
    as_user.encode("utf-8")  # never invalid text


def test_summary_keeps_line_breaks_within_a_message() -> None:
    note = summary(first_user_message="line one\r\nline two")
    assert note.startswith("CUSTOMER ISSUE:\nline one\nline two\n\nAI AGENT RESPONSE:\n")


LISTING_CASES = [
    pytest.param((), "TOOLS USED: none", id="no-tools"),
    pytest.param(("refund",), "TOOLS USED: refund", id="one-tool"),
    pytest.param(("b", "a", "b", "c", "a"), "TOOLS USED: b, a, c", id="distinct-first-use-order"),
    pytest.param(("", " "), "TOOLS USED: none", id="blank-names-skipped"),
]


@pytest.mark.parametrize("tools, line", LISTING_CASES)
def test_summary_tools(tools, line) -> None:
    assert line in summary(tools=tools).split("\n")


REASON_CASES = [
    pytest.param(None, "ESCALATION REASON: None", id="none"),
    pytest.param("  ", "ESCALATION REASON: None", id="blank"),
    pytest.param(
        "Customer\nasked for a human",
        "ESCALATION REASON: Customer asked for a human",
        id="one-line",
    ),
]


@pytest.mark.parametrize("reason, line", REASON_CASES)
def test_summary_reason(reason, line) -> None:
    assert summary(escalation_reason=reason).split("\n")[-1] == line


SUBJECT_CASES = [
    pytest.param(
        "billing_problem",
        "Double charge",
        "[billing_problem] Double charge",
        id="intent-and-subject",
    ),
    pytest.param(None, "Double charge", "[general_inquiry] Double charge", id="no-intent"),
    pytest.param("  ", "Double charge", "[general_inquiry] Double charge", id="blank-intent"),
    pytest.param("bug_report", None, "[bug_report] AI conversation conv_42", id="no-subject"),
    pytest.param(None, " \n ", "[general_inquiry] AI conversation conv_42", id="blank-subject"),
    pytest.param(
        "usage_help", "How do I\n  export?", "[usage_help] How do I export?", id="one-line"
    ),
]


@pytest.mark.parametrize("intent, conversation_subject, expected", SUBJECT_CASES)
def test_subject(intent, conversation_subject, expected) -> None:
    assert subject(intent, conversation_subject, "conv_42") == expected


def test_link_note() -> None:
    assert link() == (
        "AI Conversation: conv_42\n"
        "Messages: 2\n"
        "Tools used: lookup_invoice\n"
        "Intents: billing_problem\n"
        "\n"
        "Transcript:\n"
        "[user] Charged twice\n"
        "[assistant] Let me check."
    )


LINK_CASES = [
    pytest.param({"tools": (), "intents": ()}, ("Tools used: none", "Intents: none"), id="none"),
    pytest.param(
        {"tools": ("a", "b", "a"), "intents": ("x", "y", "x")},
        ("Tools used: a, b", "Intents: x, y"),
        id="distinct-in-order",
    ),
    pytest.param({"transcript": ()}, ("Transcript:", "(no messages)"), id="empty-transcript"),
    pytest.param(
        {"transcript": (("user", "first\nsecond\r\n\tthird"),)},
        ("[user] first second third",),
        id="one-line-per-message",
    ),
    pytest.param(
        {"transcript": (("assistant", "y" * 2000),)}, ("[assistant] " + "y" * 2000,), id="2000-kept"
    ),
    pytest.param(
        {"transcript": (("assistant", "y" * 2500),)},
        ("[assistant] " + "y" * 2000 + " … [cut: 2500 characters in all]",),
        id="cut-at-2000-and-said",
    ),
    pytest.param({"transcript": (("", "hi"),)}, ("[unknown] hi",), id="blank-role"),
]


@pytest.mark.parametrize("overrides, lines", LINK_CASES)
def test_link_note_lines(overrides, lines) -> None:
    note = link(**overrides)
    assert note.split("\n")[0] == "AI Conversation: conv_42"
    for line in lines:
        assert line in note.split("\n")
