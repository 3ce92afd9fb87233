"""The Jira adapter over real HTTP against the in-repo Jira emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulators.jira import AGENT_ACCOUNT_ID, JiraEmulator, serve
from ticketsync.adapters.jira import webhooks as jira_webhooks
from ticketsync.adapters.jira.api import (
    CUSTOMER_LEAD,
    INTERNAL_LEAD,
    JiraHelpDesk,
    JiraStartError,
    Visibility,
)
from ticketsync.adapters.jira.signature import verify
from ticketsync.adapters.ports import NotFound, OutcomeUnknown, Permanent, RateLimited, Retryable
from ticketsync.events.ticket_side import TicketCommentAdded, TicketStatusChanged
from ticketsync.events.tickets import Comment, NewTicket, TicketChange, TicketRef

SUMMARY = "CUSTOMER ISSUE:\nI was charged twice\n\nCONVERSATION LENGTH: 4 messages"
CONVERSATION_FIELD = "customfield_10042"
SUMMARY_FIELD = "customfield_10043"
GROUP_FIELD = "customfield_10044"
SECRET = "jira-webhook-secret"
CUSTOM_FIELDS = {
    CONVERSATION_FIELD: {
        "type": "string",
        "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
    },
    SUMMARY_FIELD: {
        "type": "string",
        "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
    },
    GROUP_FIELD: {
        "type": "option",
        "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select",
    },
}


def paragraphs(text: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
            for line in text.split("\n")
        ],
    }


@pytest.fixture
def emulator() -> JiraEmulator:
    return JiraEmulator(
        email="sync-bot@example.com",
        api_token="emulator-secret",
        custom_fields=CUSTOM_FIELDS,
        webhook_secret=SECRET,
    )


@pytest.fixture
def base_url(emulator: JiraEmulator) -> Iterator[str]:
    with serve(emulator) as url:
        yield url


class Sleeps:
    """Stands in for time.sleep: counts the waits between searches instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_desk(
    base_url: str, emulator: JiraEmulator, sleeps: Sleeps, **options: Any
) -> JiraHelpDesk:
    defaults: dict[str, Any] = {
        "project": "OPS",
        "issue_type": "Task",
        "timeout": 1.0,  # drop_after_commit() withholds the answer until the read timeout.
        "sleep": sleeps,
        "search_delay": 0.5,
    }
    desk = JiraHelpDesk(base_url, emulator.email, emulator.api_token, **{**defaults, **options})
    desk.start()
    return desk


@pytest.fixture
def desk(base_url: str, emulator: JiraEmulator, sleeps: Sleeps) -> Iterator[JiraHelpDesk]:
    adapter = make_desk(base_url, emulator, sleeps)
    yield adapter
    adapter.close()


def new_ticket(**fields: Any) -> NewTicket:
    defaults: dict[str, Any] = {
        "external_id": "conv_42",
        "subject": "[billing_problem] Charged twice",
        "requester": None,
        "group": "Billing Team",
        "priority": "high",
        "tags": ("billing", "urgent", "billing_problem"),
        "summary": SUMMARY,
    }
    return NewTicket(**{**defaults, **fields})


def create(desk: JiraHelpDesk, key: str = "cmd-1", **fields: Any) -> TicketRef:
    return desk.create_ticket(new_ticket(**fields), idempotency_key=key)


# ---------------------------------------------------------------------- start


def test_start_reads_the_site(desk: JiraHelpDesk, emulator: JiraEmulator) -> None:
    assert desk.api_user_id() == emulator.account_id
    assert desk.service_project is False


def test_start_refuses_bad_credentials_with_jiras_text(
    base_url: str, emulator: JiraEmulator
) -> None:
    desk = JiraHelpDesk(base_url, emulator.email, "wrong-token", project="OPS")
    with pytest.raises(JiraStartError) as caught:
        desk.start()
    message = str(caught.value)
    assert "TICKETSYNC_JIRA_API_TOKEN" in message
    assert "401: Client must be authenticated to access this resource." in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "options, words",
    [
        ({"project": "NOPE"}, ["'NOPE'", "TICKETSYNC_JIRA_PROJECT"]),
        ({"issue_type": "Epic"}, ["'Epic'", "TICKETSYNC_JIRA_ISSUE_TYPE", "Task, Bug"]),
        ({"summary_field_id": "customfield_99"}, ["customfield_99", "SUMMARY_FIELD_ID"]),
    ],
    ids=["unknown-project", "missing-issue-type", "field-not-on-screen"],
)
def test_start_refuses_what_the_site_lacks(
    base_url: str, emulator: JiraEmulator, sleeps: Sleeps, options: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(JiraStartError) as caught:
        make_desk(base_url, emulator, sleeps, **options)
    assert all(word in str(caught.value) for word in words), str(caught.value)


def test_start_refuses_a_missing_priority(sleeps: Sleeps) -> None:
    emulator = JiraEmulator(priorities=("Blocker", "High", "Medium", "Low"))
    with serve(emulator) as url, pytest.raises(JiraStartError) as caught:
        make_desk(url, emulator, sleeps)
    assert "Highest" in str(caught.value)


# ---------------------------------------------------------------------- creating


def test_create_sets_summary_routing_labels_and_conversation(
    desk: JiraHelpDesk, emulator: JiraEmulator, base_url: str
) -> None:
    ref = create(desk)

    assert ref == TicketRef(
        system="jira", id="OPS-1", url=f"{base_url}/browse/OPS-1", status="new", status_name="To Do"
    )
    fields = emulator.issue("OPS-1")["fields"]
    assert fields["summary"] == "[billing_problem] Charged twice"  # not doubled
    assert fields["description"] == paragraphs(SUMMARY)
    assert fields["labels"] == ["billing", "urgent", "billing_problem", "ticketsync-conv_42"]
    assert fields["priority"]["name"] == "High"
    assert [c["name"] for c in fields["components"]] == ["Billing Team"]
    assert emulator.properties("OPS-1") == {"ticketsync": {"conversation_id": "conv_42"}}


@pytest.mark.parametrize(
    "priority, name",
    [("low", "Low"), ("medium", "Medium"), ("high", "High"), ("urgent", "Highest")],
)
def test_priorities_by_name(
    desk: JiraHelpDesk, emulator: JiraEmulator, priority: str, name: str
) -> None:
    ref = create(desk, priority=priority)
    assert emulator.issue(ref.id)["fields"]["priority"]["name"] == name


def test_tags_with_spaces_become_labels(desk: JiraHelpDesk, emulator: JiraEmulator) -> None:
    ref = create(desk, tags=("Billing Team", "needs  review", "billing"))
    labels = emulator.issue(ref.id)["fields"]["labels"]
    assert labels == ["Billing_Team", "needs_review", "billing", "ticketsync-conv_42"]


def test_group_without_component_is_left_off_and_said(
    desk: JiraHelpDesk, emulator: JiraEmulator
) -> None:
    ref = create(desk, group="Retention")
    fields = emulator.issue(ref.id)["fields"]
    assert "components" not in fields
    assert fields["description"] == paragraphs(
        SUMMARY + "\n\nGROUP: Retention (no component of that name in OPS, so none was set)"
    )


def test_custom_fields_when_configured(
    base_url: str, emulator: JiraEmulator, sleeps: Sleeps
) -> None:
    desk = make_desk(
        base_url,
        emulator,
        sleeps,
        conversation_field_id=CONVERSATION_FIELD,
        summary_field_id=SUMMARY_FIELD,
        group_field=GROUP_FIELD,
    )
    ref = create(desk, group="Retention")
    fields = emulator.issue(ref.id)["fields"]
    assert fields[CONVERSATION_FIELD] == "conv_42"  # a single-line text field takes a string
    assert fields[SUMMARY_FIELD] == paragraphs(SUMMARY)  # a paragraph field takes ADF
    assert fields[GROUP_FIELD] == {"value": "Retention"}
    assert "components" not in fields


def test_lost_create_response_and_lagging_search_make_one_issue(
    desk: JiraHelpDesk, emulator: JiraEmulator, sleeps: Sleeps
) -> None:
    emulator.search_lag = 2  # the new issue is missing from the next two searches
    emulator.drop_after_commit(method="POST", path="/rest/api/3/issue")
    with pytest.raises(OutcomeUnknown):
        create(desk)

    ref = create(desk)  # the retry looks before creating again

    assert ref.id == "OPS-1"
    assert len(emulator.issues()) == 1
    assert len(emulator.creates()) == 1
    assert sleeps.waits == [0.5, 0.5]
    assert desk.find_tickets("conv_42") == [ref]


def test_gateway_error_after_the_create_applied_makes_one_issue(
    desk: JiraHelpDesk, emulator: JiraEmulator, sleeps: Sleeps
) -> None:
    emulator.fail_after_commit(status=504, method="POST", path="/rest/api/3/issue")
    with pytest.raises(OutcomeUnknown):
        create(desk)
    assert len(emulator.issues()) == 1

    assert create(desk).id == "OPS-1"
    assert len(emulator.creates()) == 1


def test_search_lagging_by_seconds(base_url: str, emulator: JiraEmulator) -> None:
    now = [1_000.0]
    emulator._clock = lambda: now[0]
    emulator.search_lag_seconds = 5.0

    def wait(seconds: float) -> None:  # the adapter's waits move the emulator's clock
        now[0] += seconds

    desk = make_desk(base_url, emulator, Sleeps(), sleep=wait, search_delay=2.0)
    emulator.drop_after_commit(method="POST", path="/rest/api/3/issue")
    with pytest.raises(OutcomeUnknown):
        create(desk)
    assert create(desk).id == "OPS-1"  # found on the search after 6 s
    assert len(emulator.issues()) == 1


def test_find_tickets_after_a_500_and_a_restart(
    base_url: str, desk: JiraHelpDesk, emulator: JiraEmulator, sleeps: Sleeps
) -> None:
    emulator.search_lag = 1
    emulator.fail_next(status=500, method="POST", path="/rest/api/3/issue")
    with pytest.raises(Retryable):
        create(desk)
    assert emulator.issues() == []  # failed before applying: nothing to find
    assert desk.find_tickets("conv_42") == []
    assert len(sleeps.waits) == 3

    create(desk, key="cmd-2")
    fresh = make_desk(base_url, emulator, Sleeps())  # a new process knows nothing
    [found] = fresh.find_tickets("conv_42")
    assert found.id == "OPS-1"


def test_a_label_without_our_property_is_not_ours(
    desk: JiraHelpDesk, emulator: JiraEmulator
) -> None:
    ref = create(desk)
    emulator.properties(ref.id)  # exists
    with emulator._lock:
        emulator._issues[ref.id].properties.clear()
    assert desk.find_tickets("conv_42") == []


# ---------------------------------------------------------------------- comments


def test_comments_on_a_software_project(desk: JiraHelpDesk, emulator: JiraEmulator) -> None:
    ref = create(desk)
    desk.add_comment(ref.id, Comment(body="AI Conversation: conv_42\nMessages: 4", public=False))
    desk.add_comment(ref.id, Comment(body="Still broken", public=True, by_requester=True))

    note, customer = emulator.comments(ref.id)
    assert note["body"] == paragraphs(f"{INTERNAL_LEAD}\n\nAI Conversation: conv_42\nMessages: 4")
    assert "visibility" not in note
    assert customer["body"] == paragraphs(f"{CUSTOMER_LEAD}\n\nStill broken")
    assert desk.has_comment(ref.id, "Still broken")
    assert desk.has_comment(ref.id, "AI Conversation: conv_42\nMessages: 4")
    assert not desk.has_comment(ref.id, "never sent")
    assert desk.own_comment_ids() == {note["id"], customer["id"]}


def test_internal_note_restricted_to_a_role(
    base_url: str, emulator: JiraEmulator, sleeps: Sleeps
) -> None:
    desk = make_desk(
        base_url, emulator, sleeps, internal_visibility=Visibility("role", "Administrators")
    )
    ref = create(desk)
    desk.add_comment(ref.id, Comment(body="tool ran", public=False))
    [note] = emulator.comments(ref.id)
    assert note["visibility"] == {"type": "role", "value": "Administrators"}
    assert note["body"] == paragraphs("tool ran")


def test_internal_note_on_a_service_project(sleeps: Sleeps) -> None:
    emulator = JiraEmulator(service_desk=True)
    with serve(emulator) as url:
        desk = make_desk(url, emulator, sleeps)
        assert desk.service_project is True
        ref = create(desk)
        desk.add_comment(ref.id, Comment(body="internal", public=False))
        desk.add_comment(ref.id, Comment(body="public", public=True))
        note, public = emulator.comments(ref.id)
    assert (note["jsdPublic"], note["body"]) == (False, paragraphs("internal"))
    assert public["jsdPublic"] is True


def test_comment_on_a_missing_issue_is_not_found(desk: JiraHelpDesk) -> None:
    with pytest.raises(NotFound):
        desk.add_comment("OPS-99", Comment(body="x", public=True))


# ---------------------------------------------------------------------- status


@pytest.mark.parametrize(
    "issue_type, done, reopened",
    [("Task", "Done", "In Progress"), ("Bug", "Resolved", "Reopened")],
)
def test_transitions_to_done_and_back(
    base_url: str, emulator: JiraEmulator, sleeps: Sleeps, issue_type: str, done: str, reopened: str
) -> None:
    desk = make_desk(base_url, emulator, sleeps, issue_type=issue_type)
    ref = create(desk)

    solved = desk.change_ticket(ref.id, TicketChange(status="solved", priority="medium"))
    assert (solved.status, solved.status_name) == ("solved", done)
    assert emulator.issue(ref.id)["fields"]["status"]["statusCategory"]["key"] == "done"
    assert emulator.issue(ref.id)["fields"]["priority"]["name"] == "Medium"

    desk.add_comment(ref.id, Comment(body="It broke again", public=True, by_requester=True))
    opened = desk.change_ticket(ref.id, TicketChange(status="open"))
    assert (opened.status, opened.status_name) == ("open", reopened)
    assert opened.id == ref.id  # reopened, never replaced
    assert len(emulator.issues()) == 1


def test_transitions_are_cached_per_type_and_status(
    desk: JiraHelpDesk, emulator: JiraEmulator
) -> None:
    first, second = create(desk), create(desk, key="cmd-2", external_id="conv_43")
    desk.change_ticket(first.id, TicketChange(status="solved"))
    desk.change_ticket(second.id, TicketChange(status="solved"))
    assert len(emulator.requests("GET", r"/rest/api/3/issue/OPS-\d+/transitions")) == 1


def test_a_status_already_reached_needs_no_transition(
    desk: JiraHelpDesk, emulator: JiraEmulator
) -> None:
    ref = create(desk)
    assert desk.change_ticket(ref.id, TicketChange(status="new")).status_name == "To Do"
    assert emulator.requests("POST", r".*/transitions") == []


def test_no_fitting_transition_is_permanent(
    base_url: str, emulator: JiraEmulator, sleeps: Sleeps
) -> None:
    desk = make_desk(base_url, emulator, sleeps, issue_type="Record")
    ref = create(desk)
    assert desk.change_ticket(ref.id, TicketChange(status="closed")).status_name == "Archived"
    with pytest.raises(Permanent) as caught:
        desk.change_ticket(ref.id, TicketChange(status="open"))
    assert "no transition" in caught.value.detail
    assert "'Archived'" in caught.value.detail


def test_labels_are_added_and_assignee_set(desk: JiraHelpDesk, emulator: JiraEmulator) -> None:
    ref = create(desk)
    desk.change_ticket(
        ref.id, TicketChange(add_tags=("bug_report", "new tag"), assignee=AGENT_ACCOUNT_ID)
    )
    fields = emulator.issue(ref.id)["fields"]
    assert fields["labels"][-2:] == ["bug_report", "new_tag"]
    assert "ticketsync-conv_42" in fields["labels"]
    assert fields["assignee"] == AGENT_ACCOUNT_ID


# ---------------------------------------------------------------------- failures


def test_429_with_retry_after(desk: JiraHelpDesk, emulator: JiraEmulator) -> None:
    emulator.fail_next(status=429, retry_after=7, method="POST")
    with pytest.raises(RateLimited) as caught:
        create(desk)
    assert (caught.value.status, caught.value.retry_after) == (429, 7.0)
    assert emulator.issues() == []


def test_503_with_retry_after_is_retryable(desk: JiraHelpDesk, emulator: JiraEmulator) -> None:
    emulator.fail_next(status=503, retry_after=3, method="POST")
    with pytest.raises(Retryable) as caught:
        create(desk)
    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.retry_after == 3.0


def test_401_later_is_permanent_with_jiras_text(desk: JiraHelpDesk, emulator: JiraEmulator) -> None:
    emulator.api_token = "rotated"
    with pytest.raises(Permanent) as caught:
        create(desk)
    assert caught.value.status == 401
    assert "Client must be authenticated" in caught.value.detail


def test_400_names_the_field(desk: JiraHelpDesk, emulator: JiraEmulator) -> None:
    emulator.components.clear()  # deleted after start: Jira refuses the stale id
    with pytest.raises(Permanent) as caught:
        create(desk)
    assert "components: Component name" in caught.value.detail


# ---------------------------------------------------------------------- webhooks back


def test_webhooks_of_our_changes_and_an_agents(desk: JiraHelpDesk, emulator: JiraEmulator) -> None:
    ref = create(desk)
    desk.add_comment(ref.id, Comment(body="summary", public=False))
    desk.change_ticket(ref.id, TicketChange(status="solved"))
    emulator.act_as_agent(ref.id, comment="Refunded *twice*", status="In Progress")

    events = []
    for body, headers in emulator.deliveries():
        verify(body, headers, [SECRET])
        delivery = jira_webhooks.parse(
            body,
            headers,
            own_account_id=desk.api_user_id(),
            own_comment_ids=desk.own_comment_ids(),
        )
        events.append(delivery.event)
    ours_note, ours_status, agent_comment, agent_status = events
    assert isinstance(ours_note, TicketCommentAdded)
    assert ours_note.author_is_agent is False
    assert isinstance(ours_status, TicketStatusChanged)
    assert (ours_status.status, ours_status.actor_id) == ("solved", desk.api_user_id())
    assert isinstance(agent_comment, TicketCommentAdded)
    assert (agent_comment.body, agent_comment.author_is_agent, agent_comment.public) == (
        "Refunded twice",
        True,
        True,
    )
    assert isinstance(agent_status, TicketStatusChanged)
    assert (agent_status.status, agent_status.actor_id, agent_status.external_id) == (
        "open",
        AGENT_ACCOUNT_ID,
        "conv_42",
    )
