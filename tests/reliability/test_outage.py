"""A help-desk outage in three acts while conversations keep arriving, then recovery.

Connections refused (a TCP proxy in front of the Zendesk emulator, cut), then 503s, then
429s with Retry-After, over a compressed window; afterwards every conversation that needs
one has exactly one ticket, with all its notes, each once, in the order they were decided.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.emulators.zendesk import ZendeskEmulator, serve
from tests.support import TcpProxy, message, payload, quiet, running, signed, wait_until


def test_refused_then_503_then_429_then_recovery(database_url: str, tmp_path: Path) -> None:
    emulator = ZendeskEmulator(email="sync@example.com", api_token="zd-token")
    with serve(emulator) as base_url:
        target = urlsplit(base_url)
        proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 80).start()
        env = {
            "TICKETSYNC_TICKETING": "zendesk",
            "TICKETSYNC_ZENDESK_URL": f"http://127.0.0.1:{proxy.port}",
            "TICKETSYNC_ZENDESK_EMAIL": "sync@example.com",
            "TICKETSYNC_ZENDESK_API_TOKEN": "zd-token",
            "TICKETSYNC_ZENDESK_WEBHOOK_SECRET": "s",
            "TICKETSYNC_OUTBOX_BACKOFF_BASE": "0.05",
            "TICKETSYNC_OUTBOX_BACKOFF_MAX": "0.4",
            "TICKETSYNC_OUTBOX_MAX_ATTEMPTS": "10000",
            "TICKETSYNC_HTTP_TIMEOUT": "1",
        }
        conversations = [f"out_{uuid.uuid4().hex[:6]}_{n}" for n in range(12)]
        with running(database_url, tmp_path, env=env) as server, server.admin() as admin:

            def converse(cids: list[str]) -> None:
                for cid in cids:
                    for event in (
                        payload(
                            "conversation.started",
                            cid,
                            customer={"id": cid, "email": f"{cid}@example.com"},
                            subject="Down",
                        ),
                        message(cid, content=f"{cid}: it is broken"),
                        message(cid, role="assistant", content=f"{cid}: let me see"),
                        payload("conversation.escalated", cid, reason="outage"),
                        message(cid, content=f"{cid}: still broken"),
                    ):
                        body, headers = signed(event)
                        assert (
                            httpx.post(
                                server.url + "/webhooks/chat", content=body, headers=headers
                            ).status_code
                            == 202
                        )

            def failing_calls() -> int:
                trail = admin.get("/audit", params={"type": "call.failed", "limit": 1000}).json()[
                    "events"
                ]
                return len(trail)

            proxy.cut()  # act one: connections refused
            converse(conversations[:4])
            wait_until(lambda: failing_calls() >= 4, timeout=20)
            proxy.start()
            emulator.fail_next(40, status=503)  # act two: Service Unavailable
            worker = threading.Thread(target=converse, args=(conversations[4:8],))
            worker.start()
            worker.join()
            emulator.fail_next(10, status=429, retry_after=1)  # act three: rate limited
            converse(conversations[8:])
            quiet(admin, timeout=90)
            statuses = Counter(
                e["data"].get("status")
                for e in admin.get("/audit", params={"type": "call.failed", "limit": 1000}).json()[
                    "events"
                ]
            )
            assert statuses[None] > 0  # refused: no status
            assert statuses[503] > 0
            assert statuses[429] > 0
            assert admin.get("/outbox", params={"state": "parked"}).json()["calls"] == []
            for cid in conversations:
                view = admin.get(f"/conversations/{cid}").json()
                [ticket] = [t for t in emulator.tickets() if t["external_id"] == cid]
                assert view["ticket"]["id"] == str(ticket["id"])
                bodies = [c["body"] for c in emulator.comments(ticket["id"])]
                assert len(bodies) == len(set(bodies)), bodies  # every note once
                assert bodies[0].startswith("CUSTOMER ISSUE:")
                assert bodies[1].startswith(f"AI Conversation: {cid}")
                # The escalation was in the create; what came after it follows, last.
                assert "ESCALATION REASON: outage" in bodies[0]
                assert bodies[-1] == f"{cid}: still broken"
