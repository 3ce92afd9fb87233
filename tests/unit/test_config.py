"""Settings from the environment: defaults, validation and secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import ADMIN_TOKEN, CHAT_SECRET, OTHER_SECRET
from ticketsync.events.errors import ConfigError
from ticketsync.service import bootstrap, config


def test_defaults() -> None:
    settings = config.load({})
    assert settings.database.kind == "sqlite"
    assert settings.database.path == "./ticketsync.db"
    assert settings.ticketing == "local"
    assert settings.ticket_policy == "default"
    assert (
        settings.outbox_backoff_base,
        settings.outbox_backoff_max,
        settings.outbox_max_attempts,
        settings.outbox_concurrency,
    ) == (1.0, 600.0, 25, None)
    assert config.load({"TICKETSYNC_OUTBOX_CONCURRENCY": "16"}).outbox_concurrency == 16
    assert settings.chat_webhook_secrets == ()
    assert settings.admin_token is None
    assert settings.log_level == "info"
    assert config.load({"TICKETSYNC_LOG_LEVEL": "warning"}).log_level == "warning"


def test_secret_lists_allow_rotation() -> None:
    settings = config.load({"TICKETSYNC_CHAT_WEBHOOK_SECRET": f" {CHAT_SECRET} , {OTHER_SECRET} "})
    assert settings.chat_webhook_secrets == (CHAT_SECRET, OTHER_SECRET)
    assert len(bootstrap.chat_webhook_keys(settings)) == 2


def test_secrets_never_show_in_a_repr() -> None:
    settings = config.load(
        {"TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET, "TICKETSYNC_ADMIN_TOKEN": "hunter2"}
    )
    text = repr(settings)
    assert "hunter2" not in text
    assert CHAT_SECRET not in text
    assert "'***'" in text


@pytest.mark.parametrize(
    "url, expected",
    [
        ("sqlite:///./data/t.db", config.Database(kind="sqlite", path="./data/t.db")),
        ("sqlite:////var/lib/t.db", config.Database(kind="sqlite", path="/var/lib/t.db")),
        (
            "postgresql://svc:p%40ss@db.internal:6543/tickets?schema=sync",
            config.Database(
                kind="postgres",
                host="db.internal",
                port=6543,
                user="svc",
                password="p@ss",
                dbname="tickets",
                schema="sync",
            ),
        ),
        ("postgres://postgres@127.0.0.1/test", config.Database(kind="postgres", dbname="test")),
    ],
)
def test_database_urls(url: str, expected: config.Database) -> None:
    assert config.parse_database_url(url) == expected


BAD = [
    pytest.param(
        {"TICKETSYNC_DATABASE_URL": "mysql://x/y"}, "TICKETSYNC_DATABASE_URL", id="unknown-database"
    ),
    pytest.param(
        {"TICKETSYNC_DATABASE_URL": "postgresql://h:5432/"},
        "TICKETSYNC_DATABASE_URL",
        id="no-dbname",
    ),
    pytest.param(
        {"TICKETSYNC_DATABASE_URL": "postgresql://h/db?schema=a;drop"},
        "TICKETSYNC_DATABASE_URL",
        id="bad-schema",
    ),
    pytest.param(
        {"TICKETSYNC_CHAT_WEBHOOK_SECRET": "whsec_***"},
        "TICKETSYNC_CHAT_WEBHOOK_SECRET",
        id="secret-not-base64",
    ),
    pytest.param(
        {"TICKETSYNC_CHAT_WEBHOOK_SECRET": "dGVzdC1zZWNyZXQ="},
        "TICKETSYNC_CHAT_WEBHOOK_SECRET",
        id="secret-without-whsec",
    ),
    pytest.param(
        {"TICKETSYNC_CHAT_WEBHOOK_SECRET": f"{CHAT_SECRET},dGVzdC1zZWNyZXQ="},
        "TICKETSYNC_CHAT_WEBHOOK_SECRET",
        id="rotated-secret-without-whsec",
    ),
    pytest.param(
        {"TICKETSYNC_CHAT_REPLY_SECRET": "dGVzdC1zZWNyZXQ="},
        "TICKETSYNC_CHAT_REPLY_SECRET",
        id="reply-secret-without-whsec",
    ),
    pytest.param(
        {"TICKETSYNC_CHAT_REPLY_SECRET": "whsec_not base64!"},
        "TICKETSYNC_CHAT_REPLY_SECRET",
        id="reply-secret-not-base64",
    ),
    pytest.param(
        {"TICKETSYNC_TICKETING": "freshdesk"}, "TICKETSYNC_TICKETING", id="unknown-ticketing"
    ),
    pytest.param(
        {"TICKETSYNC_TICKET_POLICY": "never"}, "TICKETSYNC_TICKET_POLICY", id="unknown-policy"
    ),
    pytest.param({"TICKETSYNC_LOG_LEVEL": "loud"}, "TICKETSYNC_LOG_LEVEL", id="unknown-log-level"),
    pytest.param(
        {"TICKETSYNC_OUTBOX_BACKOFF_BASE": "soon"},
        "TICKETSYNC_OUTBOX_BACKOFF_BASE",
        id="backoff-not-number",
    ),
    pytest.param(
        {"TICKETSYNC_OUTBOX_BACKOFF_BASE": "10", "TICKETSYNC_OUTBOX_BACKOFF_MAX": "5"},
        "TICKETSYNC_OUTBOX_BACKOFF_MAX",
        id="max-below-base",
    ),
    pytest.param(
        {"TICKETSYNC_OUTBOX_MAX_ATTEMPTS": "0"}, "TICKETSYNC_OUTBOX_MAX_ATTEMPTS", id="no-attempts"
    ),
    pytest.param(
        {"TICKETSYNC_OUTBOX_CONCURRENCY": "0"},
        "TICKETSYNC_OUTBOX_CONCURRENCY",
        id="no-concurrency",
    ),
    pytest.param(
        {"TICKETSYNC_ZENDESK_SUMMARY_FIELD_ID": "abc"},
        "TICKETSYNC_ZENDESK_SUMMARY_FIELD_ID",
        id="field-id",
    ),
    pytest.param(
        {"TICKETSYNC_ZENDESK_URL": "acme.zendesk.com"},
        "TICKETSYNC_ZENDESK_URL",
        id="url-without-scheme",
    ),
]


@pytest.mark.parametrize("environ, variable", BAD)
def test_bad_values_name_the_variable(environ: dict[str, str], variable: str) -> None:
    # As the service loads them: the secrets are checked in the chat adapter's format too.
    with pytest.raises(ConfigError, match=variable):
        bootstrap.load_settings(environ)


JIRA = {
    "TICKETSYNC_TICKETING": "jira",
    "TICKETSYNC_JIRA_URL": "https://acme.atlassian.net/",
    "TICKETSYNC_JIRA_EMAIL": "bot@acme.example",
    "TICKETSYNC_JIRA_API_TOKEN": "jira-token",
    "TICKETSYNC_JIRA_PROJECT": "OPS",
}


def test_jira_settings_are_read_with_their_defaults() -> None:
    settings = config.load(
        {
            **JIRA,
            "TICKETSYNC_JIRA_CONVERSATION_FIELD_ID": "customfield_10042",
            "TICKETSYNC_JIRA_INTERNAL_VISIBILITY": "role:Developers",
        }
    )
    assert settings.ticketing == "jira"
    assert settings.jira_url == "https://acme.atlassian.net"
    assert settings.jira_issue_type == "Task"
    assert settings.jira_conversation_field_id == "customfield_10042"
    assert settings.jira_summary_field_id is None
    assert settings.jira_group_field is None  # components
    assert settings.jira_internal_visibility == ("role", "Developers")
    assert "jira-token" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TICKETSYNC_JIRA_URL", "acme.atlassian.net"),
        ("TICKETSYNC_JIRA_CONVERSATION_FIELD_ID", "10042"),
        ("TICKETSYNC_JIRA_GROUP_FIELD", "Team"),
        ("TICKETSYNC_JIRA_INTERNAL_VISIBILITY", "Developers"),
        ("TICKETSYNC_JIRA_INTERNAL_VISIBILITY", "user:42"),
    ],
)
def test_bad_jira_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name) as refused:
        config.load({**JIRA, name: value})
    assert "must be set" not in str(refused.value)


def test_jira_without_its_variables_is_refused_naming_each() -> None:
    settings = config.load({"TICKETSYNC_TICKETING": "jira", "TICKETSYNC_JIRA_PROJECT": "OPS"})
    with pytest.raises(ConfigError) as refused:
        config.require_desk(settings)
    assert str(refused.value) == (
        "TICKETSYNC_JIRA_URL, TICKETSYNC_JIRA_EMAIL, TICKETSYNC_JIRA_API_TOKEN must be set "
        "when TICKETSYNC_TICKETING=jira"
    )


def test_zendesk_without_its_variables_is_refused_naming_each_with_what_else_is_missing() -> None:
    settings = config.load({"TICKETSYNC_TICKETING": "zendesk"})
    with pytest.raises(ConfigError) as refused:
        config.require_desk(settings, also=config.missing_secrets(settings))
    assert str(refused.value) == (
        "TICKETSYNC_ZENDESK_URL, TICKETSYNC_ZENDESK_EMAIL, TICKETSYNC_ZENDESK_API_TOKEN, "
        "TICKETSYNC_CHAT_WEBHOOK_SECRET, TICKETSYNC_ADMIN_TOKEN, "
        "TICKETSYNC_ZENDESK_WEBHOOK_SECRET must be set when TICKETSYNC_TICKETING=zendesk"
    )
    # A desk that has what it needs is not refused for the secrets alone.
    config.require_desk(config.load({}), also=["TICKETSYNC_ADMIN_TOKEN"])


@pytest.mark.parametrize(
    "secret, reason",
    [
        pytest.param("dGVzdC1zZWNyZXQ=", "no 'whsec_'", id="no-prefix"),
        pytest.param("whsec_not base64!", "not valid base64", id="not-base64"),
    ],
)
def test_a_chat_secret_not_in_the_standard_webhooks_format_is_refused_in_one_line(
    secret: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        bootstrap.load_settings({"TICKETSYNC_CHAT_WEBHOOK_SECRET": secret})
    message = str(refused.value)
    assert message.startswith("TICKETSYNC_CHAT_WEBHOOK_SECRET must be a Standard Webhooks secret")
    assert "'whsec_' followed by the base64" in message
    assert reason in message
    assert "\n" not in message


def test_generated_and_test_secrets_are_standard_webhooks_secrets() -> None:
    _filled, generated = bootstrap.with_generated_secrets(config.load({}))
    for secret in (generated["TICKETSYNC_CHAT_WEBHOOK_SECRET"], CHAT_SECRET, OTHER_SECRET):
        assert bootstrap.load_settings(
            {"TICKETSYNC_CHAT_WEBHOOK_SECRET": secret, "TICKETSYNC_CHAT_REPLY_SECRET": secret}
        )


def test_missing_secrets_depend_on_the_help_desk() -> None:
    assert config.missing_secrets(config.load({})) == [
        "TICKETSYNC_CHAT_WEBHOOK_SECRET",
        "TICKETSYNC_ADMIN_TOKEN",
    ]
    zendesk = config.load(
        {
            "TICKETSYNC_TICKETING": "zendesk",
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    assert config.missing_secrets(zendesk) == ["TICKETSYNC_ZENDESK_WEBHOOK_SECRET"]


def test_generated_secrets_fill_only_what_is_missing() -> None:
    settings = config.load({"TICKETSYNC_ADMIN_TOKEN": "keep-me"})
    filled, generated = bootstrap.with_generated_secrets(settings)
    assert list(generated) == ["TICKETSYNC_CHAT_WEBHOOK_SECRET"]
    assert filled.admin_token == "keep-me"
    assert config.missing_secrets(filled) == []
    assert filled.chat_webhook_secrets == (generated["TICKETSYNC_CHAT_WEBHOOK_SECRET"],)


def test_dotenv_is_read_under_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "# comment\nexport TICKETSYNC_ADMIN_TOKEN='from-file'\nTICKETSYNC_TICKET_POLICY=always\n\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("TICKETSYNC_TICKET_POLICY", "default")
    # A shell that loaded a .env (as the README shows) must not decide this test.
    monkeypatch.delenv("TICKETSYNC_ADMIN_TOKEN", raising=False)
    merged = config.environment(tmp_path)
    assert merged["TICKETSYNC_ADMIN_TOKEN"] == "from-file"
    assert merged["TICKETSYNC_TICKET_POLICY"] == "default"


def test_bad_dotenv_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=1\nthis is not a setting\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.env:2"):
        config.environment(tmp_path)


def test_eventsourcing_environment() -> None:
    sqlite = config.eventsourcing_env(config.parse_database_url("sqlite:///x.db"))
    assert sqlite["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert sqlite["SQLITE_DBNAME"] == "x.db"
    postgres = config.eventsourcing_env(
        config.parse_database_url("postgresql://u:pw@h:1/d?schema=s")
    )
    assert postgres["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (postgres["POSTGRES_HOST"], postgres["POSTGRES_PORT"], postgres["POSTGRES_USER"]) == (
        "h",
        "1",
        "u",
    )
    assert (
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DBNAME"],
        postgres["POSTGRES_SCHEMA"],
    ) == ("pw", "d", "s")


def test_alerts_are_off_by_default_and_read_when_set() -> None:
    settings = config.load({})
    assert settings.alert_webhook_url is None
    assert settings.alert_after == 300.0
    assert settings.public_url == "http://127.0.0.1:8000"
    url = "https://hooks.slack.com/services/T0/B0/xoxb-secret-part"
    settings = config.load(
        {
            "TICKETSYNC_ALERT_WEBHOOK_URL": url,
            "TICKETSYNC_ALERT_AFTER": "1.5",
            "TICKETSYNC_PUBLIC_URL": "https://sync.example.com/",
        }
    )
    assert settings.alert_webhook_url == url
    assert settings.alert_after == 1.5
    assert settings.public_url == "https://sync.example.com"
    assert "xoxb-secret-part" not in repr(settings)


@pytest.mark.parametrize(
    "name, value",
    [
        ("TICKETSYNC_ALERT_WEBHOOK_URL", "hooks.slack.com/services/T0/B0/x"),
        ("TICKETSYNC_ALERT_WEBHOOK_URL", "ftp://hooks.example/x"),
        ("TICKETSYNC_ALERT_WEBHOOK_URL", "https://"),
        ("TICKETSYNC_ALERT_AFTER", "0"),
        ("TICKETSYNC_ALERT_AFTER", "-5"),
        ("TICKETSYNC_ALERT_AFTER", "soon"),
        ("TICKETSYNC_PUBLIC_URL", "sync.example.com"),
    ],
)
def test_bad_alert_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name) as refused:
        config.load({name: value})
    if name == "TICKETSYNC_ALERT_WEBHOOK_URL":
        assert value not in str(refused.value)  # the URL is the channel's credential


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(None, None, id="off-by-default"),
        pytest.param("9464", ("127.0.0.1", 9464), id="bare-port-is-local-only"),
        pytest.param("0.0.0.0:9464", ("0.0.0.0", 9464), id="every-interface"),  # noqa: S104
        pytest.param("metrics.internal:19464", ("metrics.internal", 19464), id="host-name"),
    ],
)
def test_worker_metrics_listen_address(text: str | None, expected: tuple | None) -> None:
    environ = {"TICKETSYNC_WORKER_METRICS_LISTEN": text} if text else {}
    assert config.load(environ).worker_metrics_listen == expected


@pytest.mark.parametrize("text", ["port", "0", "70000", ":9464", "host:"])
def test_a_bad_worker_metrics_address_names_the_variable(text: str) -> None:
    with pytest.raises(ConfigError, match="TICKETSYNC_WORKER_METRICS_LISTEN"):
        config.load({"TICKETSYNC_WORKER_METRICS_LISTEN": text})


def test_a_token_shorter_than_32_characters_is_named_with_its_length() -> None:
    short = config.load({"TICKETSYNC_ADMIN_TOKEN": "a" * 31})
    assert config.short_tokens(short) == [
        "TICKETSYNC_ADMIN_TOKEN is 31 characters long; it must have at least 32 "
        "(generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
    ]
    assert config.short_tokens(config.load({"TICKETSYNC_ADMIN_TOKEN": "a" * 32})) == []
    assert config.short_tokens(config.load({})) == []


def test_a_short_agent_token_is_refused_beside_a_good_admin_token() -> None:
    settings = config.load({"TICKETSYNC_ADMIN_TOKEN": "a" * 32, "TICKETSYNC_AGENT_TOKEN": "b" * 20})
    [reason] = config.short_tokens(settings)
    assert reason.startswith(
        "TICKETSYNC_AGENT_TOKEN is 20 characters long; it must have at least 32"
    )
    good = config.load({"TICKETSYNC_AGENT_TOKEN": "b" * 32})
    assert config.short_tokens(good) == []
    assert "b" * 32 not in repr(good)


def test_the_agent_token_may_not_be_the_admin_token() -> None:
    with pytest.raises(ConfigError, match="TICKETSYNC_AGENT_TOKEN must differ"):
        config.load({"TICKETSYNC_ADMIN_TOKEN": "a" * 32, "TICKETSYNC_AGENT_TOKEN": "a" * 32})


def test_every_variable_the_settings_read_is_known_and_no_other() -> None:
    import re

    source = Path(config.__file__).read_text(encoding="utf-8")
    # What the code reads: the names quoted after the lists themselves.
    code = source.split("def unknown_variables", 1)[1]
    read = set(re.findall(r'"(TICKETSYNC_[A-Z0-9_]+[A-Z0-9])"', code))
    assert read == set(config.VARIABLES)


def test_a_misspelt_variable_is_named_with_the_nearest_real_one() -> None:
    assert config.unknown_variables(
        {
            "TICKETSYNC_TICKET_POLICIES": "always",
            "TICKETSYNC_ADMIN_TOKEN": "x",
            "TICKETSYNC_NOTHING_LIKE_IT_AT_ALL": "1",
            "TICKETSYNC_TEST_POSTGRES_URL": "postgresql://",
            "PATH": "/bin",
        }
    ) == [
        "TICKETSYNC_NOTHING_LIKE_IT_AT_ALL is not a setting of ticketsync and is ignored",
        "TICKETSYNC_TICKET_POLICIES is not a setting of ticketsync and is ignored; "
        "did you mean TICKETSYNC_TICKET_POLICY?",
    ]


def test_ci_is_a_true_value_of_ci_not_any_value(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support import under_ci

    for value, expected in (("true", True), ("1", True), ("false", False), ("", False)):
        monkeypatch.setenv("CI", value)
        assert under_ci() is expected
