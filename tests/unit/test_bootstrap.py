"""What the composition root hands the rest of the service in place of concrete adapters."""

from __future__ import annotations

import time

import pytest

from tests.fakes import FakeHelpDesk
from tests.support import CHAT_SECRET, OTHER_SECRET
from ticketsync.adapters.chat import signing
from ticketsync.adapters.local import LocalHelpDesk
from ticketsync.adapters.ports import AgentDesk
from ticketsync.adapters.zendesk.api import ZendeskHelpDesk
from ticketsync.events.errors import ConfigError, Refused
from ticketsync.service import bootstrap, config


@pytest.mark.parametrize(
    "desk, offers", [(LocalHelpDesk, True), (ZendeskHelpDesk, False), (FakeHelpDesk, False)]
)
def test_only_the_built_in_desk_offers_the_agents_side(desk: type, offers: bool) -> None:
    assert issubclass(desk, AgentDesk) is offers


def test_the_dev_inbox_keeps_only_replies_signed_with_its_secret() -> None:
    inbox = bootstrap.dev_inbox(CHAT_SECRET)
    body = b'{"data": {"conversation_id": "c1"}}'
    now = time.time()
    assert inbox.receive(body, signing.signed_headers(CHAT_SECRET, "r1", body, now), now)
    with pytest.raises(Refused):
        inbox.receive(body, signing.signed_headers(OTHER_SECRET, "r2", body, now), now)
    assert [reply["webhook_id"] for reply in inbox.replies("c1")] == ["r1"]


def test_the_webhook_keys_name_the_variable_of_a_bad_secret() -> None:
    settings = config.load({"TICKETSYNC_CHAT_WEBHOOK_SECRET": "not-a-secret"})
    with pytest.raises(ConfigError, match=r"^TICKETSYNC_CHAT_WEBHOOK_SECRET must be a Standard"):
        bootstrap.chat_webhook_keys(settings)


def test_a_new_chat_secret_is_accepted_where_the_service_loads_it() -> None:
    secret = bootstrap.new_chat_secret()
    assert bootstrap.load_settings({"TICKETSYNC_CHAT_WEBHOOK_SECRET": secret})
