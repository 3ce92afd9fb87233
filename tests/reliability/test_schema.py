"""The OpenAPI description is the API: every route is in it, and every answer is documented.

Two halves: the set of (method, path) the app serves equals the one in SPEC, so neither can
drift; and schemathesis, loading the schema from a real server's own /openapi.json, sends
generated valid and invalid requests to every operation and checks that none answers 5xx,
that every status is documented, and that bodies match the documented shapes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Route

from tests.support import ADMIN_TOKEN, CHAT_SECRET, Server, payload, running, signed, wait_until
from ticketsync.service import bootstrap, config
from ticketsync.service.http import app as http
from ticketsync.service.http.openapi import SPEC

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# Routes that exist only under `serve --dev`, and are left out of the description on purpose.
DEV_PREFIX = "/dev/"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def described() -> set[tuple[str, str]]:
    return {(method, path) for path, item in SPEC["paths"].items() for method in item}


def test_the_description_has_only_operations() -> None:
    assert {method for method, _ in described()} <= METHODS


# The description against the routes.


def _template(path: str) -> str:
    """Starlette's `{name:converter}` as OpenAPI's `{name}`."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def served(tmp_path: Path) -> set[tuple[str, str]]:
    """(method, path) of every route of the app, dev routes included."""
    configured = config.load(
        {
            "TICKETSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'routes.db'}",
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    # With a dev inbox, so that the dev routes are served and must be the only extras.
    container = bootstrap.build(
        configured, run_workers=False, dev_inbox=bootstrap.dev_inbox(CHAT_SECRET)
    )
    try:
        app = http.create_app(container)
        # The webhook targets are taken in before the router, for POST only.
        operations = {("post", path) for path in app.webhooks}
        for route in app.routes:
            assert isinstance(route, Route), route
            # Starlette adds HEAD to every GET route by itself; the description leaves it out.
            for method in (route.methods or set()) - {"HEAD"}:
                operations.add((method.lower(), _template(route.path)))
        return operations
    finally:
        container.close()


def test_the_description_names_every_route_and_no_other(tmp_path: Path) -> None:
    operations = served(tmp_path)
    dev = {(method, path) for method, path in operations if path.startswith(DEV_PREFIX)}
    assert dev, "the dev routes were expected to be served with a dev inbox"
    spec = described()
    assert operations - dev == spec, (
        f"served but not described: {sorted(operations - dev - spec)}; "
        f"described but not served: {sorted(spec - operations)}"
    )


def test_every_admin_operation_asks_for_the_token_and_errors_are_errors() -> None:
    open_paths = {"/", "/healthz", "/webhooks/chat", "/webhooks/zendesk", "/webhooks/jira"}
    for method, path in described():
        operation = SPEC["paths"][path][method]
        label = f"{method.upper()} {path}"
        responses = operation["responses"]
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, f"{label} {status}"
        if path in open_paths:
            assert "security" not in operation, label
        else:
            assert operation["security"] == [{"bearer": []}], label
            assert "401" in responses, label


# Schemathesis against a real server: a fixed seed, no example database, no shrinking (a
# failure is recorded with a curl reproduction instead), a few examples per operation, in
# each generation mode, plus one positive pass on the path parameters' examples.

SEED = 20261125
HYPOTHESIS = settings(
    max_examples=12,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def schema_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("schema")
    with running(f"sqlite:///{folder / 't.db'}", folder) as server:
        # One conversation with a ticket on the built-in desk, so that the examples in the
        # description (conv_42, local ticket 1) reach the 200s and their bodies are checked.
        for event in (
            payload("conversation.started", "conv_42", customer={"id": "c1"}, subject="Help"),
            payload("conversation.escalated", "conv_42", reason="asked for a human"),
        ):
            body, headers = signed(event)
            answer = httpx.post(server.url + "/webhooks/chat", content=body, headers=headers)
            assert answer.status_code == 202, answer.text
        with server.admin() as admin:
            wait_until(lambda: admin.get("/conversations/conv_42").json()["ticket"], timeout=20)
        yield server


def _failures(error: BaseException) -> list[str]:
    """The check failures in what `call_and_validate` raised, one line each."""
    if isinstance(error, BaseExceptionGroup):
        return [line for inner in error.exceptions for line in _failures(inner)]
    if isinstance(error, Failure):
        return [f"{error.title}: {error.message}".strip()]
    return [f"{type(error).__name__}: {error}"]


def _examples(operation: APIOperation) -> dict[str, Any]:
    """The path parameters' examples in the description."""
    return {
        parameter.name: parameter.definition["example"]
        for parameter in operation.path_parameters
        if "example" in parameter.definition
    }


def exercise(
    operation: APIOperation,
    mode: GenerationMode,
    path_parameters: dict[str, Any] | None,
    session: requests.Session,
    found: dict[tuple[str, str], str],
) -> None:
    """Send generated cases of one operation; record each kind of failure once in `found`."""

    @HYPOTHESIS
    @given(case=operation.as_strategy(mode, path_parameters=path_parameters))
    def run(case: schemathesis.Case) -> None:
        try:
            case.call_and_validate(session=session, headers=AUTH, timeout=10, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as error:
            for failure in _failures(error):
                key = (operation.label, failure.split(":")[0])
                found.setdefault(key, f"{failure}\n    {case.as_curl_command(AUTH)}")

    try:
        run()
    except Unsatisfiable:
        # Nothing in this operation can be made invalid (a GET without parameters, say).
        if mode is GenerationMode.POSITIVE:
            raise


def test_every_answer_is_documented_and_none_is_a_server_error(schema_server: Server) -> None:
    """Unsigned webhook deliveries stop at 401: for them this checks no 5xx and no
    undocumented status, which is all an unsigned request can show."""
    api = schemathesis.openapi.from_url(
        schema_server.url + "/openapi.json",
        config=schemathesis.Config.from_dict({"seed": SEED, "headers": AUTH}),
        headers=AUTH,
        timeout=10,
    )
    found: dict[tuple[str, str], str] = {}
    exercised = set()
    with requests.Session() as session:
        for result in api.get_all_operations():
            operation = result.ok()
            exercised.add((operation.method, operation.path))
            for mode in GenerationMode:
                exercise(operation, mode, None, session, found)
            if _examples(operation):
                exercise(operation, GenerationMode.POSITIVE, _examples(operation), session, found)
    # Schemathesis leaves out the operation that serves the schema it loaded.
    assert exercised == described() - {("get", "/openapi.json")}
    assert not found, "\n".join(f"{label}: {text}" for (label, _), text in sorted(found.items()))


# Schemathesis's own phases, as its engine runs them: coverage (boundary and just-outside
# values of every keyword of the description), fuzzing (generated cases, valid and invalid),
# then stateful (chains of calls along the description's links: a listed call retried, a
# fetched ticket commented on and changed). The engine is driven through its command line:
# it is the one entry point that runs all three phases, and the same run reproduces a
# failure by hand. Sizes are bounded so the three take about a minute on a small machine.

PHASES = ("coverage", "fuzzing", "stateful")


def test_coverage_fuzzing_and_stateful_phases_find_nothing(
    schema_server: Server, tmp_path: Path
) -> None:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        schema_server.url + "/openapi.json",
        "--phases",
        ",".join(PHASES),
        "--header",
        f"Authorization: Bearer {ADMIN_TOKEN}",
        "--checks",
        ",".join(check.__name__ for check in CHECKS),
        "--max-examples",
        "50",
        "--seed",
        str(SEED),
        "--generation-database",
        "none",
        "--max-failures",
        "20",
        "--request-timeout",
        "10",
        "--no-color",
    ]
    # In a folder of its own: the engine keeps a cache of what it found in the working directory.
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    for phase in PHASES:
        assert re.search(rf"✅ +{phase}", report, re.IGNORECASE), report
    # The stateful phase followed links, not only declared itself.
    links = re.search(r"API Links: +(\d+) covered", report)
    assert links, report
    assert int(links.group(1)) > 0, report
