"""The benchmarks still run (small, on both stores); their figures are printed, not asserted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_every_benchmark_runs_and_reports(postgres_server_url: str) -> None:
    if shutil.which("wrk") is None:
        if os.environ.get("CI"):
            pytest.fail("the ingest benchmark needs wrk: apt-get install wrk")
        pytest.skip("wrk is not installed (apt-get install wrk, or `make bench`)")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "report.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = orjson.loads(result.stdout.splitlines()[-1])
    assert {row["store"] for row in figures["ingest"]} == {"sqlite", "postgres"}
    assert all(row["ticketsync"]["accepted"] == 200 for row in figures["ingest"])
    # With the workers on, the run waits until they have done everything, and says when.
    assert all(
        ("settled_s" in row["ticketsync"]) == ("workers off" not in row["processes"])
        for row in figures["ingest"]
    )
    assert all(row["ticketsync"].get("settled_s", 1) > 0 for row in figures["ingest"])
    # wrk sends every pre-signed request once: each is answered, and accepted, not a duplicate.
    wrk_rows = figures["ingest_wrk"]
    assert {(row["store"], row["mix"]) for row in wrk_rows} == {
        (store, mix) for store in ("sqlite", "postgres") for mix in ("conversations", "messages")
    }
    for row in wrk_rows:
        assert [order["first"] for order in row["orders"]] == ["ticketsync", "ceiling"]
        for order in row["orders"]:
            for run in (order["ticketsync"], order["ceiling"]):
                assert run["sent"] == run["answered"] == run["accepted"] == row["webhooks"]
            assert order["ticketsync"]["tickets"] == row["tickets_expected"] > 0
            assert order["ratio"] > 0
            assert order["p99_ratio"] > 0
    assert all(row["created"] == 20 for row in figures["escalation"].values())
    # Sustained: paced, every webhook answered 202 and stored, every escalation one ticket.
    sustained = figures["sustained"]
    assert sustained["sent"] == sustained["answered"] == sustained["accepted"] > 0
    assert sustained["logged"] == sustained["sent"]
    assert sustained["not_202"] == sustained["socket_errors"] == 0
    tickets = sustained["tickets"]
    assert tickets["made"] == tickets["expected"] == sustained["escalations"] > 0
    assert tickets["duplicates"] == tickets["unexpected"] == 0
    assert sustained["achieved_rate"] > 0
    assert sustained["drain_s"] >= 0
    # Scaling: each layout takes the whole load and makes each ticket once.
    scaling = figures["scaling"]
    assert [(row["http"], row["workers"]) for row in scaling] == [(1, 1), (2, 1), (1, 2), (2, 2)]
    for row in scaling:
        assert row["sent"] == row["accepted"] == row["webhooks"] > 0
        assert row["tickets"]["made"] == row["tickets"]["expected"] == row["escalations"] > 0
        assert row["tickets"]["duplicates"] == 0
        assert row["settled_s"] > 0
    # A worker catching up: sampled until done, on both stores.
    catch_up = figures["catch_up"]
    assert {row["store"] for row in catch_up} == {"sqlite", "postgres"}
    for row in catch_up:
        assert row["events"] > 0
        assert row["entries_added"] > 0  # it decided and sent, not only read
        assert 0 < row["rss_start_mb"] <= row["rss_peak_mb"]
        assert len(row["samples_mb"]) >= 2
    assert all(row["rebuild_rate"] > 0 for row in figures["rebuild"])
    assert len(figures["speed"]) == 2
    assert all(seconds > 0 for seconds in figures["speed"])
