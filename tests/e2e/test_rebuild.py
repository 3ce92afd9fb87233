"""Rebuilds over HTTP and the CLI, beside a running service."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import orjson

from tests.support import (
    message,
    payload,
    quiet,
    run_cli,
    running,
    server_env,
    signed,
    wait_until,
)


def test_rebuild_and_verify_beside_a_running_service(database_url: str, tmp_path: Path) -> None:
    with running(database_url, tmp_path) as server, server.admin() as admin:
        ids = []
        for _ in range(5):
            cid = f"conv_{uuid.uuid4().hex[:8]}"
            ids.append(cid)
            for event in (
                payload("conversation.escalated", cid, reason="human"),
                message(cid, content="hi"),
            ):
                body, headers = signed(event)
                assert (
                    httpx.post(
                        server.url + "/webhooks/chat", content=body, headers=headers
                    ).status_code
                    == 202
                )
        for cid in ids:
            wait_until(
                lambda c=cid: (
                    (v := admin.get(f"/conversations/{c}").json())["ticket"]
                    and v["pending_calls"] == 0
                )
            )
        # A message may reach the log after its conversation's ticket: let it be applied too.
        quiet(admin)
        calls_before = len(admin.get("/outbox").json()["calls"])

        started = admin.post("/admin/rebuild", json={"projections": ["conversations"]})
        assert started.status_code == 202
        rebuild_id = started.json()["id"]
        done = wait_until(
            lambda: (
                (p := admin.get(f"/admin/rebuild/{rebuild_id}").json())["state"] != "running" and p
            )
        )
        assert done["state"] == "done"
        assert done["differences"] == 0
        assert done["rows"]["conversations"] == 5
        assert admin.post("/admin/rebuild", json={"projections": ["nope"]}).status_code == 400
        assert admin.get("/admin/rebuild/unknown").status_code == 404
        assert httpx.post(server.url + "/admin/rebuild", json={}).status_code == 401

        env = server_env(database_url)
        verify = run_cli(["verify", "--json"], tmp_path, env, timeout=120)
        assert verify.returncode == 0, verify.stderr
        summary = orjson.loads(verify.stdout)
        assert summary["matches"] is True
        assert summary["checksums"]["rebuilt"] == summary["checksums"]["live"]

        refused = run_cli(["rebuild"], tmp_path, env, timeout=60)
        assert refused.returncode != 0
        assert "--yes" in refused.stderr
        rebuilt = run_cli(["rebuild", "--yes"], tmp_path, env, timeout=120)
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert "rebuilt conversations:" in rebuilt.stdout
        assert "conversations: 5 rows" in rebuilt.stdout
        assert "every decision matches" in rebuilt.stdout

        # The service answers from the rebuilt models and nothing was sent again.
        assert len(admin.get("/outbox").json()["calls"]) == calls_before
        assert all(admin.get(f"/conversations/{cid}").json()["ticket"] for cid in ids)
        unknown = run_cli(["rebuild", "--yes", "nope"], tmp_path, env, timeout=60)
        assert unknown.returncode != 0
        assert "unknown projection" in unknown.stderr
