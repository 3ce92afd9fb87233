"""What a stranger learns from GET /healthz while the database is down (docs/behaviour.md,
section "Limits"): `unavailable`, never the driver's error text, which names the host, the
port, the user and the database. That text goes to the log, and to the admin token with
`?detail=1`."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support import ADMIN_TOKEN, TcpProxy, running, wait_until


@pytest.mark.postgres
def test_a_store_that_is_down_tells_strangers_only_that(
    postgres_server_url: str, tmp_path: Path
) -> None:
    target = urlsplit(postgres_server_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432).start()
    user = target.username or ""
    database = target.path.lstrip("/")
    url = (
        f"postgresql://{user}@127.0.0.1:{proxy.port}{target.path}"
        f"?schema=health_{uuid.uuid4().hex[:8]}"
    )
    admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    with running(url, tmp_path) as server:
        healthy = httpx.get(server.url + "/healthz", timeout=30)
        assert healthy.json()["status"] == "ok"
        assert isinstance(healthy.json()["position"], int)
        proxy.cut()
        answer = httpx.get(server.url + "/healthz", timeout=30)
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "unavailable"
        assert body["position"] is None
        assert "reason" not in body
        for secret in (str(proxy.port), database, user, "127.0.0.1"):
            assert secret not in answer.text, secret
        # The token alone tells no more; with ?detail=1 it gets the driver's words.
        assert "reason" not in httpx.get(server.url + "/healthz", headers=admin, timeout=30).json()
        detailed = httpx.get(server.url + "/healthz?detail=1", headers=admin, timeout=30)
        assert detailed.status_code == 503
        reason = detailed.json()["reason"]
        assert reason
        assert reason not in answer.text
        stranger = httpx.get(server.url + "/healthz?detail=1", timeout=30)
        assert stranger.status_code == 401
        assert reason not in stranger.text
        # And the log has it, for whoever runs the service.
        assert reason in server.logs()
        proxy.start()
        wait_until(lambda: httpx.get(server.url + "/healthz", timeout=30).status_code == 200)


def test_detail_takes_only_1(tmp_path: Path) -> None:
    with running(f"sqlite:///{tmp_path / 't.db'}", tmp_path) as server:
        answer = httpx.get(
            server.url + "/healthz?detail=yes", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert answer.status_code == 400
        assert answer.json()["field"] == "detail"
        # When all is well, detail adds nothing a stranger does not see.
        fine = httpx.get(
            server.url + "/healthz?detail=1", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert fine.json()["status"] == "ok"
