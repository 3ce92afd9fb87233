"""Settings: read once from the environment (and a `.env` file), validated, frozen.

This module is the only reader of `os.environ`. Every variable starts with `TICKETSYNC_`;
a bad value fails at start-up with a ConfigError that names the variable. What only an
adapter knows (the format of the chat's webhook secrets) is handed in by the composition
root: `service.bootstrap.load_settings` is `load` with the chat adapter's secret check.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from ticketsync.events.errors import ConfigError
from ticketsync.projections.policy import CHAT_EVENTS

DEFAULT_DATABASE_URL = "sqlite:///./ticketsync.db"
TICKETING_SYSTEMS = ("local", "zendesk", "jira")
TICKET_POLICIES = ("default", "always")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True, kw_only=True)
class Database:
    """Where the log lives. `kind` is "sqlite" (with `path`) or "postgres"."""

    kind: Literal["sqlite", "postgres"]
    path: str = ""
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = field(default="", repr=False)
    dbname: str = ""
    schema: str = "public"

    def describe(self) -> str:
        """A one-line description without the password."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        return (
            f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}?schema={self.schema}"
        )


class _Secret(str):
    """A string that prints as '***' so it cannot leak through a repr or a log line."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


@dataclass(frozen=True, kw_only=True)
class Settings:
    database: Database
    chat_webhook_secrets: tuple[str, ...] = ()
    zendesk_webhook_secrets: tuple[str, ...] = ()
    jira_webhook_secrets: tuple[str, ...] = ()
    admin_token: str | None = None
    # The AI agent's bearer token for MCP over HTTP at /mcp; None: no /mcp (docs/mcp.md).
    agent_token: str | None = None
    ticketing: Literal["local", "zendesk", "jira"] = "local"
    zendesk_url: str | None = None
    zendesk_email: str | None = None
    zendesk_api_token: str | None = None
    zendesk_conversation_field_id: int | None = None
    zendesk_summary_field_id: int | None = None
    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: str | None = None
    jira_project: str | None = None
    jira_issue_type: str = "Task"
    jira_conversation_field_id: str | None = None
    jira_summary_field_id: str | None = None
    jira_group_field: str | None = None  # None: the group goes to `components`
    # Who may read an internal note on a project that is not a service project:
    # ("role", name) or ("group", group id); None: a public comment marked internal.
    jira_internal_visibility: tuple[str, str] | None = None
    chat_reply_url: str | None = None
    # Which types of what the chat is told are sent (TICKETSYNC_CHAT_EVENTS; default all).
    chat_events: frozenset[str] = CHAT_EVENTS
    chat_reply_secret: str | None = None
    routing_file: str | None = None
    ticket_policy: Literal["default", "always"] = "default"
    outbox_backoff_base: float = 1.0
    outbox_backoff_max: float = 600.0
    outbox_max_attempts: int = 25
    outbox_max_age: float | None = None
    outbox_concurrency: int | None = None  # None: by help desk (see bootstrap)
    http_timeout: float = 10.0
    # Where an admin is told of parked calls and failing help desks; None: not told. A
    # secret: incoming-webhook URLs carry their token in the path.
    alert_webhook_url: str | None = None
    alert_after: float = 300.0  # seconds a help desk keeps failing before an admin is told
    # The console's address as an admin's browser reaches it, for links in alerts.
    public_url: str = "http://127.0.0.1:8000"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Where a lone `ticketsync worker` answers GET /metrics: (host, port); None: nowhere.
    worker_metrics_listen: tuple[str, int] | None = None


# Every variable `load` reads (tests/unit/test_config.py holds the list to the code).
VARIABLES = frozenset(
    {
        "TICKETSYNC_ADMIN_TOKEN",
        "TICKETSYNC_AGENT_TOKEN",
        "TICKETSYNC_ALERT_AFTER",
        "TICKETSYNC_ALERT_WEBHOOK_URL",
        "TICKETSYNC_CHAT_REPLY_SECRET",
        "TICKETSYNC_CHAT_EVENTS",
        "TICKETSYNC_CHAT_REPLY_URL",
        "TICKETSYNC_CHAT_WEBHOOK_SECRET",
        "TICKETSYNC_DATABASE_URL",
        "TICKETSYNC_HTTP_TIMEOUT",
        "TICKETSYNC_JIRA_API_TOKEN",
        "TICKETSYNC_JIRA_CONVERSATION_FIELD_ID",
        "TICKETSYNC_JIRA_EMAIL",
        "TICKETSYNC_JIRA_GROUP_FIELD",
        "TICKETSYNC_JIRA_INTERNAL_VISIBILITY",
        "TICKETSYNC_JIRA_ISSUE_TYPE",
        "TICKETSYNC_JIRA_PROJECT",
        "TICKETSYNC_JIRA_SUMMARY_FIELD_ID",
        "TICKETSYNC_JIRA_URL",
        "TICKETSYNC_JIRA_WEBHOOK_SECRET",
        "TICKETSYNC_LOG_LEVEL",
        "TICKETSYNC_OUTBOX_BACKOFF_BASE",
        "TICKETSYNC_OUTBOX_BACKOFF_MAX",
        "TICKETSYNC_OUTBOX_CONCURRENCY",
        "TICKETSYNC_OUTBOX_MAX_AGE",
        "TICKETSYNC_OUTBOX_MAX_ATTEMPTS",
        "TICKETSYNC_PUBLIC_URL",
        "TICKETSYNC_ROUTING_FILE",
        "TICKETSYNC_TICKETING",
        "TICKETSYNC_TICKET_POLICY",
        "TICKETSYNC_WORKER_METRICS_LISTEN",
        "TICKETSYNC_ZENDESK_API_TOKEN",
        "TICKETSYNC_ZENDESK_CONVERSATION_FIELD_ID",
        "TICKETSYNC_ZENDESK_EMAIL",
        "TICKETSYNC_ZENDESK_SUMMARY_FIELD_ID",
        "TICKETSYNC_ZENDESK_URL",
        "TICKETSYNC_ZENDESK_WEBHOOK_SECRET",
    }
)
# Read by the test suite and the benchmarks, not by the service: not worth a warning.
NOT_SETTINGS = frozenset(
    {
        "TICKETSYNC_TEST_POSTGRES_URL",
        "TICKETSYNC_SCREENSHOTS",
        "TICKETSYNC_BENCH_SECRET",
        "TICKETSYNC_BENCH_POSTGRES_URL",
    }
)


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning for each TICKETSYNC_ variable that is no setting (a typo is silently
    ignored otherwise), naming the nearest real one."""
    import difflib

    warnings = []
    for name in sorted(environ):
        if not name.startswith("TICKETSYNC_") or name in VARIABLES or name in NOT_SETTINGS:
            continue
        # Compared without the prefix that every name shares, which would make any two alike.
        suffixes = {known.removeprefix("TICKETSYNC_"): known for known in VARIABLES}
        nearest = difflib.get_close_matches(
            name.removeprefix("TICKETSYNC_"), suffixes, n=1, cutoff=0.6
        )
        hint = f"; did you mean {suffixes[nearest[0]]}?" if nearest else ""
        warnings.append(f"{name} is not a setting of ticketsync and is ignored{hint}")
    return warnings


def _http_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a .env file; `#` comments, `export ` and quotes are allowed."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        text = text.removeprefix("export ").strip()
        key, equals, value = text.partition("=")
        key = key.strip()
        if not equals or not key.isidentifier():
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def environment(cwd: Path | None = None) -> dict[str, str]:
    """The process environment over the `.env` file of the working directory."""
    merged = read_dotenv((cwd or Path.cwd()) / ".env")
    merged.update(os.environ)
    return merged


def load(
    environ: Mapping[str, str] | None = None,
    *,
    check_secret: Callable[[str], object] | None = None,
) -> Settings:
    """Settings from `environ` (default: the process environment and `.env`).

    `check_secret`, when given, checks each chat webhook and reply secret (raising
    ConfigError with a one-line reason); bootstrap gives the chat adapter's.
    Raises ConfigError naming the variable at fault.
    """
    env = environment() if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() if value and value.strip() else None

    def number(name: str, default: float, *, minimum: float = 0.0) -> float:
        text = get(name)
        if text is None:
            return default
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{name} must be a number of seconds, got {text!r}") from None
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum:g}, got {text!r}")
        return value

    def integer(name: str, *, minimum: int = 1) -> int | None:
        text = get(name)
        if text is None:
            return None
        if not text.isdigit() or int(text) < minimum:
            raise ConfigError(f"{name} must be a whole number of at least {minimum}, got {text!r}")
        return int(text)

    def choice(name: str, choices: tuple[str, ...], default: str) -> str:
        value = get(name) or default
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def secrets(name: str) -> tuple[str, ...]:
        text = get(name)
        return (
            tuple(_Secret(part.strip()) for part in text.split(",") if part.strip()) if text else ()
        )

    def webhook_secret(name: str, secret: str) -> None:
        # Standard Webhooks secrets are `whsec_` + base64; one taken as it is would sign
        # with other bytes than the sender's, and every delivery would fail.
        if check_secret is None:
            return
        try:
            check_secret(secret)
        except ConfigError as error:
            raise ConfigError(f"{name} {error}") from None

    chat_secrets = secrets("TICKETSYNC_CHAT_WEBHOOK_SECRET")
    for secret in chat_secrets:
        webhook_secret("TICKETSYNC_CHAT_WEBHOOK_SECRET", secret)

    admin_token = get("TICKETSYNC_ADMIN_TOKEN")
    agent_token = get("TICKETSYNC_AGENT_TOKEN")
    if agent_token is not None and agent_token == admin_token:
        # The agent's token opens /mcp alone and the admin's never does: one token for
        # both would be both at once.
        raise ConfigError(
            "TICKETSYNC_AGENT_TOKEN must differ from TICKETSYNC_ADMIN_TOKEN (the agent's "
            "token opens /mcp and nothing else)"
        )
    api_token = get("TICKETSYNC_ZENDESK_API_TOKEN")
    reply_secret = get("TICKETSYNC_CHAT_REPLY_SECRET")
    if reply_secret:
        webhook_secret("TICKETSYNC_CHAT_REPLY_SECRET", reply_secret)
    backoff_base = number("TICKETSYNC_OUTBOX_BACKOFF_BASE", 1.0, minimum=0.001)
    backoff_max = number("TICKETSYNC_OUTBOX_BACKOFF_MAX", 600.0, minimum=0.001)
    if backoff_max < backoff_base:
        raise ConfigError(
            "TICKETSYNC_OUTBOX_BACKOFF_MAX must not be below TICKETSYNC_OUTBOX_BACKOFF_BASE"
        )
    ticketing = choice("TICKETSYNC_TICKETING", TICKETING_SYSTEMS, "local")
    zendesk_url = get("TICKETSYNC_ZENDESK_URL")
    if zendesk_url and urlsplit(zendesk_url).scheme not in ("http", "https"):
        raise ConfigError(f"TICKETSYNC_ZENDESK_URL must be an http(s) URL, got {zendesk_url!r}")
    jira_url = get("TICKETSYNC_JIRA_URL")
    if jira_url and urlsplit(jira_url).scheme not in ("http", "https"):
        raise ConfigError(f"TICKETSYNC_JIRA_URL must be an http(s) URL, got {jira_url!r}")
    jira_token = get("TICKETSYNC_JIRA_API_TOKEN")
    alert_url = get("TICKETSYNC_ALERT_WEBHOOK_URL")
    if alert_url and not _http_url(alert_url):
        # Not echoed: the URL is the channel's credential.
        raise ConfigError("TICKETSYNC_ALERT_WEBHOOK_URL must be an http(s) URL")
    alert_after = number("TICKETSYNC_ALERT_AFTER", 300.0, minimum=-math.inf)
    if alert_after <= 0:
        raise ConfigError(
            f"TICKETSYNC_ALERT_AFTER must be a positive number of seconds, got {alert_after:g}"
        )
    chat_events = CHAT_EVENTS
    told = get("TICKETSYNC_CHAT_EVENTS")
    if told is not None and told != "all":
        chat_events = frozenset(part.strip() for part in told.split(",") if part.strip())
        unknown = sorted(chat_events - CHAT_EVENTS)
        if unknown or not chat_events:
            raise ConfigError(
                f"TICKETSYNC_CHAT_EVENTS must be all or a comma-separated list of "
                f"{', '.join(sorted(CHAT_EVENTS))}, got {told!r}"
            )
    public_url = get("TICKETSYNC_PUBLIC_URL") or "http://127.0.0.1:8000"
    if not _http_url(public_url):
        raise ConfigError(f"TICKETSYNC_PUBLIC_URL must be an http(s) URL, got {public_url!r}")

    def custom_field(name: str) -> str | None:
        value = get(name)
        if value is not None and not re.fullmatch(r"customfield_[0-9]+", value):
            raise ConfigError(f"{name} must be a custom field id such as customfield_10042")
        return value

    group_field = get("TICKETSYNC_JIRA_GROUP_FIELD")
    if group_field == "components":
        group_field = None
    elif group_field is not None:
        group_field = custom_field("TICKETSYNC_JIRA_GROUP_FIELD")
    visibility = get("TICKETSYNC_JIRA_INTERNAL_VISIBILITY")
    internal_visibility = None
    if visibility:
        kind, colon, value = visibility.partition(":")
        if not colon or kind not in ("role", "group") or not value.strip():
            raise ConfigError(
                "TICKETSYNC_JIRA_INTERNAL_VISIBILITY must be role:<project role name> or "
                f"group:<group id>, got {visibility!r}"
            )
        internal_visibility = (kind, value.strip())
    return Settings(
        database=parse_database_url(get("TICKETSYNC_DATABASE_URL") or DEFAULT_DATABASE_URL),
        chat_webhook_secrets=chat_secrets,
        zendesk_webhook_secrets=secrets("TICKETSYNC_ZENDESK_WEBHOOK_SECRET"),
        jira_webhook_secrets=secrets("TICKETSYNC_JIRA_WEBHOOK_SECRET"),
        admin_token=_Secret(admin_token) if admin_token else None,
        agent_token=_Secret(agent_token) if agent_token else None,
        ticketing=ticketing,  # type: ignore[arg-type]
        zendesk_url=zendesk_url.rstrip("/") if zendesk_url else None,
        zendesk_email=get("TICKETSYNC_ZENDESK_EMAIL"),
        zendesk_api_token=_Secret(api_token) if api_token else None,
        zendesk_conversation_field_id=integer("TICKETSYNC_ZENDESK_CONVERSATION_FIELD_ID"),
        zendesk_summary_field_id=integer("TICKETSYNC_ZENDESK_SUMMARY_FIELD_ID"),
        jira_url=jira_url.rstrip("/") if jira_url else None,
        jira_email=get("TICKETSYNC_JIRA_EMAIL"),
        jira_api_token=_Secret(jira_token) if jira_token else None,
        jira_project=get("TICKETSYNC_JIRA_PROJECT"),
        jira_issue_type=get("TICKETSYNC_JIRA_ISSUE_TYPE") or "Task",
        jira_conversation_field_id=custom_field("TICKETSYNC_JIRA_CONVERSATION_FIELD_ID"),
        jira_summary_field_id=custom_field("TICKETSYNC_JIRA_SUMMARY_FIELD_ID"),
        jira_group_field=group_field,
        jira_internal_visibility=internal_visibility,
        chat_reply_url=get("TICKETSYNC_CHAT_REPLY_URL"),
        chat_events=chat_events,
        chat_reply_secret=_Secret(reply_secret) if reply_secret else None,
        routing_file=get("TICKETSYNC_ROUTING_FILE"),
        ticket_policy=choice("TICKETSYNC_TICKET_POLICY", TICKET_POLICIES, "default"),  # type: ignore[arg-type]
        outbox_backoff_base=backoff_base,
        outbox_backoff_max=backoff_max,
        outbox_max_attempts=int(integer("TICKETSYNC_OUTBOX_MAX_ATTEMPTS") or 25),
        outbox_max_age=number("TICKETSYNC_OUTBOX_MAX_AGE", 0.0) or None,
        outbox_concurrency=integer("TICKETSYNC_OUTBOX_CONCURRENCY"),
        http_timeout=number("TICKETSYNC_HTTP_TIMEOUT", 10.0, minimum=0.1),
        alert_webhook_url=_Secret(alert_url) if alert_url else None,
        alert_after=alert_after,
        public_url=public_url.rstrip("/"),
        log_level=choice("TICKETSYNC_LOG_LEVEL", LOG_LEVELS, "info"),  # type: ignore[arg-type]
        worker_metrics_listen=listen_address(
            "TICKETSYNC_WORKER_METRICS_LISTEN", get("TICKETSYNC_WORKER_METRICS_LISTEN")
        ),
    )


def listen_address(name: str, text: str | None) -> tuple[str, int] | None:
    """`[HOST:]PORT` as (host, port); a bare port listens on 127.0.0.1 only."""
    if text is None:
        return None
    host, colon, port = text.rpartition(":")
    if not colon:
        host = "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536 or (colon and not host):
        raise ConfigError(f"{name} must be [HOST:]PORT, e.g. 9464 or 0.0.0.0:9464, got {text!r}")
    return host, int(port)


def parse_database_url(url: str) -> Database:
    """`sqlite:///PATH` or `postgresql://user[:password]@host[:port]/db[?schema=NAME]`."""
    name = "TICKETSYNC_DATABASE_URL"
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not path:
            raise ConfigError(
                f"{name}: sqlite:/// needs a file path, e.g. sqlite:///./ticketsync.db"
            )
        return Database(kind="sqlite", path=path)
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError(
            f"{name} must start with sqlite:/// or postgresql://, got {url.split(':')[0]!r}"
        )
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise ConfigError(f"{name}: the PostgreSQL URL names no database")
    try:
        port = parts.port or 5432
    except ValueError:
        raise ConfigError(f"{name}: the port is not a number") from None
    schema = parse_qs(parts.query).get("schema", ["public"])[0]
    if not schema.isidentifier():
        raise ConfigError(f"{name}: schema must be a plain identifier, got {schema!r}")
    return Database(
        kind="postgres",
        host=parts.hostname or "127.0.0.1",
        port=port,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        dbname=dbname,
        schema=schema,
    )


def missing_desk(settings: Settings) -> list[str]:
    """The variables the help desk needs, have no default and cannot be generated, unset."""
    needed: tuple[tuple[str, object], ...] = ()
    if settings.ticketing == "zendesk":
        needed = (
            ("TICKETSYNC_ZENDESK_URL", settings.zendesk_url),
            ("TICKETSYNC_ZENDESK_EMAIL", settings.zendesk_email),
            ("TICKETSYNC_ZENDESK_API_TOKEN", settings.zendesk_api_token),
        )
    elif settings.ticketing == "jira":
        needed = (
            ("TICKETSYNC_JIRA_URL", settings.jira_url),
            ("TICKETSYNC_JIRA_EMAIL", settings.jira_email),
            ("TICKETSYNC_JIRA_API_TOKEN", settings.jira_api_token),
            ("TICKETSYNC_JIRA_PROJECT", settings.jira_project),
        )
    return [name for name, value in needed if not value]


def require_desk(settings: Settings, also: Sequence[str] = ()) -> None:
    """Refuse, in one message naming every one, the help desk's unset variables (and `also`).

    Raises ConfigError.
    """
    missing = [*missing_desk(settings), *also]
    if missing_desk(settings):
        raise ConfigError(
            f"{', '.join(missing)} must be set when TICKETSYNC_TICKETING={settings.ticketing}"
        )


def missing_secrets(settings: Settings) -> list[str]:
    """The variables `serve` needs and does not have, in the order they are reported."""
    missing = []
    if not settings.chat_webhook_secrets:
        missing.append("TICKETSYNC_CHAT_WEBHOOK_SECRET")
    if not settings.admin_token:
        missing.append("TICKETSYNC_ADMIN_TOKEN")
    if settings.ticketing == "zendesk" and not settings.zendesk_webhook_secrets:
        missing.append("TICKETSYNC_ZENDESK_WEBHOOK_SECRET")
    if settings.ticketing == "jira" and not settings.jira_webhook_secrets:
        missing.append("TICKETSYNC_JIRA_WEBHOOK_SECRET")
    return missing


# A bearer token is all that stands between the network and the API: long enough that
# guessing it is out of reach (docs/behaviour.md, Limits). `--dev` generates 43 characters.
MIN_TOKEN_LENGTH = 32


def short_tokens(settings: Settings) -> list[str]:
    """Why each token that is set is too short to start with: one sentence per variable."""
    short = []
    for name, token in (
        ("TICKETSYNC_ADMIN_TOKEN", settings.admin_token),
        ("TICKETSYNC_AGENT_TOKEN", settings.agent_token),
    ):
        if token is not None and len(token) < MIN_TOKEN_LENGTH:
            short.append(
                f"{name} is {len(token)} characters long; it must have at least "
                f"{MIN_TOKEN_LENGTH} (generate one with: python3 -c "
                f"'import secrets; print(secrets.token_urlsafe(32))')"
            )
    return short


def with_generated_secrets(
    settings: Settings, new_chat_secret: Callable[[], str]
) -> tuple[Settings, dict[str, str]]:
    """Settings with every missing secret generated, and the generated values by variable.

    `new_chat_secret` makes a chat webhook secret in the chat adapter's format.
    """
    import secrets as random

    generated: dict[str, str] = {}
    changes: dict[str, object] = {}
    if not settings.chat_webhook_secrets:
        generated["TICKETSYNC_CHAT_WEBHOOK_SECRET"] = new_chat_secret()
        changes["chat_webhook_secrets"] = (_Secret(generated["TICKETSYNC_CHAT_WEBHOOK_SECRET"]),)
    if not settings.admin_token:
        generated["TICKETSYNC_ADMIN_TOKEN"] = random.token_urlsafe(32)
        changes["admin_token"] = _Secret(generated["TICKETSYNC_ADMIN_TOKEN"])
    if settings.ticketing == "zendesk" and not settings.zendesk_webhook_secrets:
        generated["TICKETSYNC_ZENDESK_WEBHOOK_SECRET"] = random.token_urlsafe(32)
        changes["zendesk_webhook_secrets"] = (
            _Secret(generated["TICKETSYNC_ZENDESK_WEBHOOK_SECRET"]),
        )
    if settings.ticketing == "jira" and not settings.jira_webhook_secrets:
        generated["TICKETSYNC_JIRA_WEBHOOK_SECRET"] = random.token_urlsafe(32)
        changes["jira_webhook_secrets"] = (_Secret(generated["TICKETSYNC_JIRA_WEBHOOK_SECRET"]),)
    return replace(settings, **changes), generated  # type: ignore[arg-type]


def eventsourcing_env(database: Database) -> dict[str, str]:
    """The eventsourcing library's environment for the log's database."""
    if database.kind == "sqlite":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": database.path,
            "SQLITE_LOCK_TIMEOUT": "10",
            "ORIGINATOR_ID_TYPE": "text",
        }
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": database.dbname,
        "POSTGRES_HOST": database.host,
        "POSTGRES_PORT": str(database.port),
        "POSTGRES_USER": database.user,
        "POSTGRES_PASSWORD": database.password,
        "POSTGRES_SCHEMA": database.schema,
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "8",
        # EventLog puts service.log.PingWhenIdle in place of the library's ping.
        "POSTGRES_PRE_PING": "y",
        "ORIGINATOR_ID_TYPE": "text",
    }
