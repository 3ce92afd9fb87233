"""The one place that picks real collaborators. Tests call `build` with fakes.

It is the only module of the service that imports concrete adapters (adapters/chat,
adapters/zendesk, adapters/local); what the rest needs of them it hands out here: the
settings checked in the adapters' formats, the chat's signatures for the CLI's stand-ins,
and on the container the webhook keys and the built-in desk's agent side.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ticketsync.adapters.chat import signing
from ticketsync.adapters.chat import webhooks as chat_webhooks
from ticketsync.adapters.jira import signature as jira_signature
from ticketsync.adapters.jira import webhooks as jira_webhooks
from ticketsync.adapters.ports import (
    AdminAlerts,
    AgentDesk,
    ChatReplies,
    Delivery,
    HelpDesk,
    WebhookSource,
)
from ticketsync.adapters.zendesk import signature as zendesk_signature
from ticketsync.adapters.zendesk import webhooks as zendesk_webhooks
from ticketsync.events.errors import ConfigError
from ticketsync.projections.alerts import AlertPolicy
from ticketsync.projections.conversation import Policy
from ticketsync.projections.routing import BUILT_IN
from ticketsync.service import config
from ticketsync.service.cli.dev_inbox import DevInbox
from ticketsync.service.config import Settings
from ticketsync.service.routing_file import load_routing
from ticketsync.service.store.ingest import Ingestor
from ticketsync.service.store.log import EventLog
from ticketsync.service.store.tables import Store
from ticketsync.service.workers.alerts import AlertProjector
from ticketsync.service.workers.outbox import ROUND, Backoff, Dispatcher
from ticketsync.service.workers.projector import NAME, PAGE, ConversationProjector, ParseStored
from ticketsync.service.workers.rebuild import build_new
from ticketsync.service.workers.runner import Worker

logger = logging.getLogger(__name__)

# The least time between two steps of a worker that keeps finding a little new work: under
# load, entries and calls gather into bigger pages and rounds, for at most this much delay.
PACE = 0.02


@dataclass
class Container:
    """Everything a running service holds: settings, the log, and the workers around it."""

    settings: Settings
    log: EventLog
    store: Store
    ingestor: Ingestor
    help_desk: HelpDesk
    projector: ConversationProjector
    dispatcher: Dispatcher
    clock: Callable[[], float]
    workers: list[Worker] = field(default_factory=list)
    run_workers: bool = True
    dev_inbox: DevInbox | None = None
    # The webhook targets by path: how each checks and reads its deliveries.
    webhooks: Mapping[str, WebhookSource] = field(default_factory=dict)
    # The agents' side of the help desk in use, when it has one (the built-in desk does):
    # the endpoints under /tickets/local answer 404 without it.
    agent_desk: AgentDesk | None = None
    # What decides the admin's alerts; None when no alert channel is configured.
    alerting: AlertProjector | None = None
    # Workers elsewhere to wake when the log moves here (`serve`'s child process).
    wake_elsewhere: list[Callable[[], None]] = field(default_factory=list)

    def wake(self) -> None:
        """The log moved (an entry committed, a call made due): every worker looks now."""
        for worker in self.workers:
            worker.wake.set()
        for poke in self.wake_elsewhere:
            poke()

    def start(self) -> None:
        self.ingestor.start()
        if self.run_workers:
            for worker in self.workers:
                worker.start()

    def stop(self) -> None:
        self.ingestor.stop()
        for worker in self.workers:
            worker.stop()

    def close(self) -> None:
        self.stop()
        self.dispatcher.close()
        for closable in (self.help_desk, self.dispatcher.chat_replies, self.dispatcher.alerts):
            close = getattr(closable, "close", None)
            if close is not None:
                close()
        self.log.close()


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """config.load, with the chat secrets checked in the chat adapter's format.

    Raises ConfigError naming the variable at fault.
    """
    return config.load(environ, check_secret=signing.decode_secret)


def with_generated_secrets(settings: Settings) -> tuple[Settings, dict[str, str]]:
    """config.with_generated_secrets, making the chat's secret in the chat adapter's format."""
    return config.with_generated_secrets(settings, signing.generate_secret)


def new_chat_secret() -> str:
    """A new secret in the format the chat signs with (Standard Webhooks, `whsec_`)."""
    return signing.generate_secret()


def chat_webhook_keys(settings: Settings) -> tuple[bytes, ...]:
    """The HMAC keys of the chat's webhook secrets. Raises ConfigError naming the variable."""
    keys = []
    for secret in settings.chat_webhook_secrets:
        try:
            keys.append(signing.decode_secret(secret))
        except ConfigError as error:
            raise ConfigError(f"TICKETSYNC_CHAT_WEBHOOK_SECRET {error}") from None
    return tuple(keys)


# How the projection reads a delivery stored before ingest kept its typed event beside it,
# by source. Jira's deliveries have been stored with theirs from the start.
PARSE_STORED: dict[str, ParseStored] = {
    "chat": chat_webhooks.parse_stored,
    "zendesk": zendesk_webhooks.parse_stored,
}


def _ticket_side(parsed: Any, content_key: str | None = None) -> Delivery:
    """A help desk's parsed delivery (Zendesk's, Jira's): the ticket's external id is the
    conversation's id."""
    return Delivery(
        delivery_id=parsed.delivery_id,
        type=parsed.type,
        occurred_at=parsed.occurred_at,
        event=parsed.event,
        conversation_id=parsed.external_id,
        ticket_id=parsed.ticket_id,
        content_key=content_key,
    )


def webhook_sources(
    settings: Settings, chat_keys: tuple[bytes, ...], desk: HelpDesk | None = None
) -> dict[str, WebhookSource]:
    """The webhook targets by path (CONTRACT sections 2 and 3). `desk` tells Jira's
    webhooks which account and comments are ticketsync's own."""

    def chat_verify(body: bytes, checked: Any, now: float) -> object:
        return signing.verify_read(body, checked, chat_keys, now)

    def chat_parse(body: bytes, headers: Mapping[str, str]) -> Delivery:
        parsed = chat_webhooks.parse(body)
        return Delivery(
            delivery_id=headers["webhook-id"],
            type=parsed.type,
            occurred_at=parsed.occurred_at,
            event=parsed.event,
            conversation_id=parsed.conversation_id,
        )

    secrets = settings.zendesk_webhook_secrets

    def zendesk_verify(body: bytes, checked: Any, now: float) -> object:
        zendesk_signature.verify_read(body, checked, secrets, now)
        return None

    def zendesk_parse(body: bytes, headers: Mapping[str, str]) -> Delivery:
        parsed = zendesk_webhooks.parse(body, headers)
        return _ticket_side(parsed)

    jira_secrets = settings.jira_webhook_secrets
    jira_desk = desk if desk is not None and desk.system == "jira" else None

    def jira_verify(body: bytes, checked: Any, now: float) -> object:
        jira_signature.verify_read(body, checked, jira_secrets)
        return None

    def jira_parse(body: bytes, headers: Mapping[str, str]) -> Delivery:
        # What the adapter knows already, without asking Jira on a webhook's way in; the
        # projection also knows ticketsync's account (its help-desk users) and drops its
        # changes whatever this says.
        own_account = jira_desk.known_account_id if jira_desk is not None else None  # type: ignore[attr-defined]
        own_comments = jira_desk.own_comment_ids() if jira_desk is not None else ()  # type: ignore[attr-defined]
        parsed = jira_webhooks.parse(
            body, headers, own_account_id=own_account, own_comment_ids=own_comments
        )
        # Jira's identifier header is not signed; what the signed body names is.
        return _ticket_side(parsed, content_key=parsed.content_key)

    return {
        "/webhooks/chat": WebhookSource("chat", signing.read_headers, chat_verify, chat_parse),
        "/webhooks/jira": WebhookSource(
            "jira", jira_signature.read_headers, jira_verify, jira_parse
        ),
        "/webhooks/zendesk": WebhookSource(
            "zendesk", zendesk_signature.read_headers, zendesk_verify, zendesk_parse
        ),
    }


def dev_inbox(secret: str) -> DevInbox:
    """The stand-in chat of `serve --dev`, checking replies' signatures as the chat would.

    Raises ConfigError when `secret` is not in the chat's format.
    """
    key = signing.decode_secret(secret)

    def verify(body: bytes, headers: Any, now: float) -> str:
        return signing.verify(body, headers, [key], now)

    return DevInbox(secret, verify)


def policy(settings: Settings, own_user_ids: tuple[str, ...] = ()) -> Policy:
    """The reconciliation policy; raises ConfigError for a bad routing file."""
    routing = load_routing(settings.routing_file) if settings.routing_file else BUILT_IN
    return Policy(
        system=settings.ticketing,
        ticket_policy=settings.ticket_policy,
        routing=routing,
        own_user_ids=own_user_ids,
        replies=settings.chat_reply_url is not None,
        chat_events=settings.chat_events,
        # Jira's done issues take comments and transitions: they are reopened, not followed up.
        closed_reopens=settings.ticketing == "jira",
        # The built-in desk records only agents' changes; ticketsync's own leave no webhook.
        echoes=settings.ticketing != "local",
    )


def own_user_ids(desk: HelpDesk) -> tuple[str, ...]:
    """The help-desk user ticketsync acts as, so its own changes coming back cause nothing.

    Best effort: when the help desk cannot be asked now, echoes are still recognised by
    matching the changes ticketsync asked for.
    """
    api_user_id = getattr(desk, "api_user_id", None)
    if api_user_id is None:
        return ()
    try:
        return (api_user_id(),)
    except Exception as error:
        logger.warning("bootstrap.api_user_unknown", extra={"error": str(error)})
        return ()


def chat_replies_for(settings: Settings) -> ChatReplies | None:
    if not settings.chat_reply_url:
        return None
    if not settings.chat_reply_secret:
        raise ConfigError("TICKETSYNC_CHAT_REPLY_SECRET must be set with TICKETSYNC_CHAT_REPLY_URL")
    from ticketsync.adapters.chat.replies import ChatReplySender

    return ChatReplySender(
        settings.chat_reply_url, settings.chat_reply_secret, timeout=settings.http_timeout
    )


def alerts_for(settings: Settings) -> AdminAlerts | None:
    """The admin's alert channel, or None when TICKETSYNC_ALERT_WEBHOOK_URL is unset."""
    if not settings.alert_webhook_url:
        return None
    from ticketsync.adapters.alerts import WebhookAlerts

    return WebhookAlerts(settings.alert_webhook_url, timeout=settings.http_timeout)


def help_desk_for(settings: Settings, store: Store) -> HelpDesk:
    if settings.ticketing == "local":
        from ticketsync.adapters.local import LocalHelpDesk

        return LocalHelpDesk(
            store.writing,
            postgres=store.postgres,
            schema=settings.database.schema,
        )
    if settings.ticketing == "zendesk":
        from ticketsync.adapters.zendesk.api import ZendeskHelpDesk

        config.require_desk(settings)
        return ZendeskHelpDesk(
            settings.zendesk_url or "",
            settings.zendesk_email or "",
            settings.zendesk_api_token or "",
            conversation_field_id=settings.zendesk_conversation_field_id,
            summary_field_id=settings.zendesk_summary_field_id,
            timeout=settings.http_timeout,
        )
    if settings.ticketing == "jira":
        from ticketsync.adapters.jira.api import JiraHelpDesk, Visibility

        config.require_desk(settings)
        visibility = settings.jira_internal_visibility
        return JiraHelpDesk(
            settings.jira_url,
            settings.jira_email,
            settings.jira_api_token,
            project=settings.jira_project,
            issue_type=settings.jira_issue_type,
            group_field=settings.jira_group_field,
            conversation_field_id=settings.jira_conversation_field_id,
            summary_field_id=settings.jira_summary_field_id,
            internal_visibility=Visibility(*visibility) if visibility else None,  # type: ignore[arg-type]
            timeout=settings.http_timeout,
        )
    raise ConfigError(
        f"TICKETSYNC_TICKETING={settings.ticketing} is not a help desk ticketsync knows"
    )


def build(
    settings: Settings,
    *,
    help_desk: HelpDesk | None = None,
    chat_replies: ChatReplies | None = None,
    alerts: AdminAlerts | None = None,
    clock: Callable[[], float] | None = None,
    run_workers: bool = True,
    dev_inbox: DevInbox | None = None,
    check_desk: bool | None = None,
) -> Container:
    """Open the log and wire the service.

    Raises ConfigError for a bad setting and StoreUnavailable when the database is down.
    """
    clock = clock or time.time
    policy(settings)  # a bad routing file stops here, before the database is touched
    keys = chat_webhook_keys(settings)
    log = EventLog(settings.database)
    # Jira deliveries stored before the log kept content keys get theirs, once per database,
    # so a replay of one of them is a duplicate too.
    log.backfill_content_keys("jira", jira_webhooks.KEYED_TYPES, jira_webhooks.stored_content_key)
    store = Store(log)
    store.register([NAME])
    desk = help_desk or help_desk_for(settings, store)
    start = getattr(desk, "start", None)
    if (run_workers if check_desk is None else check_desk) and callable(start):
        # A help desk that checks its configuration at boot (Jira: the account, project,
        # issue type, priorities) stops the service here, with one line saying what is wrong.
        start()
    # What ticketsync acts as is remembered, so a rebuild (no help-desk calls) sees the same.
    known = store.desk_users(desk.system, own_user_ids(desk) if run_workers else ())
    reconciliation = policy(settings, known)
    projector = ConversationProjector(
        store,
        reconciliation,
        clock,
        start=lambda: _build_new(store, reconciliation, clock),
        parse_stored=PARSE_STORED,
    )
    dispatcher = Dispatcher(
        store,
        desk,
        backoff=Backoff(settings.outbox_backoff_base, settings.outbox_backoff_max),
        max_attempts=settings.outbox_max_attempts,
        max_age=settings.outbox_max_age,
        concurrency=settings.outbox_concurrency or default_concurrency(desk),
        clock=clock,
        # Longer than any one call can take, so a live call is never sent twice.
        lease=3 * settings.http_timeout + 5,
        chat_replies=chat_replies or chat_replies_for(settings),
        closed_reopens=reconciliation.closed_reopens,
        alerts=alerts or alerts_for(settings),
    )
    dispatch = Worker(
        "outbox-dispatcher",
        lambda: dispatcher.run_once(wait=False),
        idle=lambda: _until_due(store, clock),
        pace=PACE,
        full=ROUND,
    )

    def projected() -> None:
        if projector.queued:
            dispatch.wake.set()  # a page that queued no call leaves the dispatcher nothing new

    project = Worker(
        "projection-conversations",
        projector.run_once,
        idle=1.0,
        after_work=projected,
        pace=PACE,
        full=PAGE,
    )

    workers = [project, dispatch]
    alerting = None
    if dispatcher.alerts is not None:
        # Off without a channel: nothing is decided, and the log is not read twice.
        alerting = AlertProjector(
            store,
            AlertPolicy(after=settings.alert_after, console_url=settings.public_url),
            clock,
            help_desk=desk.system,
        )

        def alerts_queued() -> None:
            if alerting.queued:
                dispatch.wake.set()

        alert_worker = Worker(
            "projection-alerts",
            alerting.run_once,
            # Also how often a failing help desk's clock is looked at between its attempts.
            idle=min(1.0, settings.alert_after / 4),
            after_work=alerts_queued,
            pace=PACE,
            full=PAGE,
        )
        workers.append(alert_worker)

    def call_done() -> None:
        dispatch.wake.set()  # the conversation's next call may be due
        project.wake.set()  # and its outcome (a ticket created, say) is in the log to apply
        if alerting is not None:
            alert_worker.wake.set()  # and may start or end an incident

    dispatcher.on_done = call_done
    elsewhere: list[Callable[[], None]] = []

    def committed() -> None:
        project.wake.set()
        for poke in elsewhere:
            poke()

    ingestor = Ingestor(log, on_commit=committed)
    return Container(
        settings=settings,
        log=log,
        store=store,
        ingestor=ingestor,
        help_desk=desk,
        projector=projector,
        dispatcher=dispatcher,
        clock=clock,
        workers=workers,
        alerting=alerting,
        run_workers=run_workers,
        dev_inbox=dev_inbox,
        webhooks=webhook_sources(settings, keys, desk),
        wake_elsewhere=elsewhere,
        agent_desk=desk if isinstance(desk, AgentDesk) else None,
    )


def _build_new(store: Store, reconciliation: Policy, clock: Callable[[], float]) -> int | None:
    """The projection's start-up build, when it is new to this database: entries read, or None."""
    built = build_new(store, reconciliation, PARSE_STORED, clock)
    return None if built is None else built.events_read


def default_concurrency(desk: HelpDesk) -> int:
    """Calls in flight at once: enough to hide a remote help desk's latency (8), and fewer
    (4) for the built-in one, whose calls are transactions in this process and database."""
    return 4 if desk.system == "local" else 8


def _until_due(store: Store, clock: Callable[[], float]) -> float:
    """Seconds until the next pending call is due (at most 1, so other processes' calls are seen)."""
    try:
        due = store.next_due()
    except Exception:  # the worker's own step reports store trouble
        return 1.0
    return 1.0 if due is None else min(1.0, max(0.0, due - clock()))
