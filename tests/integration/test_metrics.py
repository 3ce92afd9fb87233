"""GET /metrics from prometheus-client: what it shows, that it parses, and that it names
no conversation or ticket; the alert rules in docs/ against what it really shows."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from tests.fakes import FakeHelpDesk
from tests.support import ADMIN_TOKEN, CHAT_SECRET, payload, signed, under_ci, wait_until
from ticketsync.adapters.ports import Permanent, Retryable
from ticketsync.service import bootstrap, config
from ticketsync.service.http import app as http

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "alerts.rules.yml"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# Every label the service puts on a metric; each takes values from a bounded set.
BOUNDED_LABELS = {
    "source",
    "outcome",
    "reason",
    "system",
    "operation",
    "projection",
    "state",
    "le",
    # prometheus-client's own process and runtime collectors
    "generation",
    "implementation",
    "major",
    "minor",
    "patchlevel",
    "version",
}


@pytest.fixture
def desk() -> FakeHelpDesk:
    return FakeHelpDesk()


@pytest.fixture
def client(tmp_path: Path, desk: FakeHelpDesk) -> Iterator[TestClient]:
    """The app over a fresh SQLite store, its workers running, calling the fake desk."""
    settings = config.load(
        {
            "TICKETSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
            "TICKETSYNC_OUTBOX_BACKOFF_BASE": "0.01",
            "TICKETSYNC_OUTBOX_BACKOFF_MAX": "0.02",
            "TICKETSYNC_OUTBOX_MAX_ATTEMPTS": "2",
        }
    )
    container = bootstrap.build(settings, help_desk=desk, run_workers=True)
    try:
        with TestClient(http.create_app(container)) as test_client:
            yield test_client
    finally:
        container.close()


def deliver(client: TestClient, body: dict, webhook_id: str | None = None) -> int:
    raw, headers = signed(body, webhook_id=webhook_id)
    return client.post("/webhooks/chat", content=raw, headers=headers).status_code


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by name and labels, parsed by prometheus-client's parser."""
    answer = client.get("/metrics", headers=AUTH)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def settled(client: TestClient) -> dict:
    """A scrape once the projection has caught up and no call is pending."""
    return wait_until(
        lambda: (
            (s := scrape(client))
            and value(s, "ticketsync_projection_lag_entries", projection="conversations") == 0
            and value(s, "ticketsync_outbox_calls", state="pending") == 0
            and s
        )
    )


def attempts(**labels: str) -> float:
    """This test process's outbox attempts so far (prometheus-client's default registry)."""
    return REGISTRY.get_sample_value("ticketsync_outbox_attempts_total", labels) or 0.0


def test_metrics_count_webhooks_time_them_and_read_the_gauges(client, desk) -> None:
    sent = attempts(system="fake", operation="create_ticket", outcome="sent")
    for number in range(3):
        cid = f"conv_m{number}"
        assert deliver(client, payload("conversation.escalated", cid, reason="human")) == 202
    assert (
        deliver(client, payload("conversation.escalated", "conv_d", reason="x"), webhook_id="evt_d")
        == 202
    )
    assert (
        deliver(client, payload("conversation.escalated", "conv_d", reason="x"), webhook_id="evt_d")
        == 200
    )
    raw, headers = signed(payload("conversation.escalated", "conv_x", reason="x"))
    headers["webhook-signature"] = "v1,bm90LXRoZS1zaWduYXR1cmU="
    assert client.post("/webhooks/chat", content=raw, headers=headers).status_code == 401
    raw, headers = signed(b"{not json")
    assert client.post("/webhooks/chat", content=raw, headers=headers).status_code == 400

    samples = settled(client)
    received = "ticketsync_webhooks_received_total"
    assert value(samples, received, source="chat", outcome="accepted", reason="") == 4
    assert value(samples, received, source="chat", outcome="duplicate", reason="") == 1
    assert (
        value(samples, received, source="chat", outcome="refused", reason="invalid_signature") == 1
    )
    assert value(samples, received, source="chat", outcome="refused", reason="invalid_json") == 1
    # The ingest histogram counted each accepted delivery, and nothing else.
    ingest = "ticketsync_webhook_ingest_duration_seconds"
    assert value(samples, ingest + "_count", source="chat") == 4
    assert value(samples, ingest + "_bucket", source="chat", le="+Inf") == 4
    assert 0 < value(samples, ingest + "_sum", source="chat") < 4 * 10
    # The whole service's gauges, read from the database.
    assert value(samples, "ticketsync_store_up") == 1
    log = client.get("/healthz").json()
    assert value(samples, "ticketsync_log_position") == log["position"]
    assert (
        value(samples, "ticketsync_projection_position", projection="conversations")
        == (log["position"])
    )
    assert value(samples, "ticketsync_outbox_calls", state="done") >= 4
    assert value(samples, "ticketsync_outbox_calls", state="parked") == 0
    assert value(samples, "ticketsync_outbox_oldest_pending_age_seconds") == 0
    # The calls, timed around the desk: four tickets made.
    assert len(desk.tickets) == 4
    assert attempts(system="fake", operation="create_ticket", outcome="sent") == sent + 4
    assert value(
        samples,
        "ticketsync_outbound_requests_total",
        system="fake",
        operation="create_ticket",
        outcome="ok",
    ) >= (4)
    assert (
        value(
            samples,
            "ticketsync_outbound_request_duration_seconds_count",
            system="fake",
            operation="create_ticket",
        )
        >= 4
    )
    # prometheus-client's process collector.
    assert value(samples, "process_resident_memory_bytes") > 0


def test_failed_and_parked_attempts_are_counted_by_outcome(client, desk) -> None:
    labels = {"system": "fake", "operation": "create_ticket"}
    before = {
        outcome: attempts(**labels, outcome=outcome) for outcome in ("failed", "parked", "sent")
    }
    transient = REGISTRY.get_sample_value(
        "ticketsync_outbound_requests_total", {**labels, "outcome": "transient"}
    )
    desk.fail("create_ticket", Retryable("503 from the desk", status=503))
    desk.fail("create_ticket", Permanent("422 invalid group", status=422))
    assert deliver(client, payload("conversation.escalated", "conv_f1", reason="x")) == 202
    wait_until(lambda: attempts(**labels, outcome="parked") == before["parked"] + 1)
    samples = settled(client)
    assert attempts(**labels, outcome="failed") == before["failed"] + 1
    assert value(samples, "ticketsync_outbox_calls", state="parked") == 1
    assert (
        REGISTRY.get_sample_value(
            "ticketsync_outbound_requests_total", {**labels, "outcome": "transient"}
        )
        == (transient or 0) + 1
    )
    assert attempts(**labels, outcome="sent") == before["sent"]


def test_the_oldest_pending_call_has_an_age(client, desk) -> None:
    # Every attempt fails and waits; the call stays pending until parked.
    desk.fail("create_ticket", Retryable("503", status=503, retry_after=60), times=5)
    assert deliver(client, payload("conversation.escalated", "conv_p", reason="x")) == 202
    samples = wait_until(
        lambda: (
            (s := scrape(client))
            and value(s, "ticketsync_outbox_calls", state="pending") == 1
            and value(s, "ticketsync_outbox_oldest_pending_age_seconds") > 0
            and s
        )
    )
    assert value(samples, "ticketsync_outbox_oldest_pending_age_seconds") < 60


def test_rebuild_progress_is_shown_from_the_database(client) -> None:
    for number in range(5):
        assert (
            deliver(client, payload("conversation.escalated", f"conv_r{number}", reason="x")) == 202
        )
    settled(client)
    started = client.post("/admin/rebuild", headers=AUTH, json={"projections": []})
    assert started.status_code == 202
    rebuild = started.json()["id"]
    wait_until(
        lambda: client.get(f"/admin/rebuild/{rebuild}", headers=AUTH).json()["state"] == "done"
    )
    samples = scrape(client)
    labels = {"projection": "conversations"}
    assert value(samples, "ticketsync_rebuild_state", **labels, state="done") == 1
    assert value(samples, "ticketsync_rebuild_state", **labels, state="running") == 0
    target = value(samples, "ticketsync_rebuild_target_position", **labels)
    assert target
    assert value(samples, "ticketsync_rebuild_position", **labels) == target
    assert value(samples, "ticketsync_rebuild_events_read", **labels) >= 5


def test_metrics_need_the_admin_token_and_healthz_does_not(client) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/healthz").status_code == 200


def test_openmetrics_when_asked(client) -> None:
    answer = client.get(
        "/metrics", headers={**AUTH, "Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.rstrip().endswith("# EOF")


def test_no_label_holds_an_id(client) -> None:
    ids = {f"conv_secret{n}" for n in range(3)}
    for cid in sorted(ids):
        assert deliver(client, payload("conversation.escalated", cid, reason="r")) == 202
    raw, headers = signed(payload("conversation.escalated", "conv_refused", reason="x"))
    headers["webhook-signature"] = "v1,bm90LXRoZS1zaWduYXR1cmU="
    client.post("/webhooks/chat", content=raw, headers=headers)
    samples = settled(client)
    tickets = {
        str(view["ticket"]["id"])
        for cid in ids
        if (view := client.get(f"/conversations/{cid}", headers=AUTH).json())["ticket"]
    }
    assert tickets
    for name, labels in samples:
        for label, text in labels:
            assert label in BOUNDED_LABELS, (name, label)
            assert not any(cid in text for cid in (*ids, "conv_refused")), (name, label, text)
            if label not in ("le", "version", "major", "minor", "patchlevel", "generation"):
                assert text not in tickets, (name, label, text)


def exposed_names(samples: dict) -> set[str]:
    return {name for name, _ in samples}


def rule_metrics() -> dict[str, set[str]]:
    """Each alert of docs/alerts.rules.yml and the metric names its expression reads."""
    rules = yaml.safe_load(RULES.read_text())
    found = {}
    for group in rules["groups"]:
        for rule in group["rules"]:
            # Quoted label values and label matchers are no metric names.
            expr = re.sub(r'"[^"]*"', "", rule["expr"])
            expr = re.sub(r"\{[^}]*\}", "", expr)
            found[rule["alert"]] = set(re.findall(r"\b(?:ticketsync|process)_[a-z_]+\b", expr))
    return found


def test_every_alert_rule_reads_metrics_the_service_exposes(client, desk) -> None:
    # Every family with samples: a refusal, a failed and a parked call, a rebuild.
    desk.fail("create_ticket", Permanent("422", status=422))
    assert deliver(client, payload("conversation.escalated", "conv_a1", reason="x")) == 202
    raw, headers = signed(payload("conversation.escalated", "conv_a2", reason="x"))
    headers["webhook-signature"] = "v1,bm90LXRoZS1zaWduYXR1cmU="
    client.post("/webhooks/chat", content=raw, headers=headers)
    exposed = exposed_names(settled(client))
    rules = rule_metrics()
    assert {"OutboxCallsParked", "ProjectionLagHigh", "OutboxOldestPendingCallOld"} <= set(rules)
    assert any("refused" in name.lower() for name in rules)
    for alert, names in rules.items():
        assert names, alert
        assert names <= exposed, (alert, names - exposed)


def test_promtool_accepts_the_rules_and_the_exposition(client) -> None:
    if shutil.which("promtool") is None:
        # CI installs it (.ci/run); elsewhere the skip says how to get it.
        reason = (
            "promtool is not installed: apt-get install --no-install-recommends prometheus "
            "(Debian, Ubuntu), or brew install prometheus (macOS)"
        )
        if under_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    checked = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    deliver(client, payload("conversation.escalated", "conv_t", reason="x"))
    text = client.get("/metrics", headers=AUTH).text
    linted = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_rules_file_is_what_docs_operations_shows() -> None:
    doc = (ROOT / "docs" / "operations.md").read_text()
    assert "alerts.rules.yml" in doc
    for alert in rule_metrics():
        assert alert in doc, alert
    assert orjson.dumps(yaml.safe_load(RULES.read_text()))  # plain data, no YAML tags
