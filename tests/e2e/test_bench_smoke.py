"""The benchmarks still run (small, on both stores); their figures are printed, not asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_every_benchmark_runs_and_reports(postgres_server_url: str) -> None:
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
    assert all(row["created"] == 20 for row in figures["escalation"].values())
    assert all(row["rebuild_rate"] > 0 for row in figures["rebuild"])
    assert len(figures["speed"]) == 2
    assert all(seconds > 0 for seconds in figures["speed"])
