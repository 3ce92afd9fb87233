"""End-to-end benchmark: from a `conversation.escalated` 202 to Zendesk receiving the create.

It starts the Zendesk emulator (tests/emulators/zendesk.py) on 127.0.0.1, then for each store
a real `ticketsync serve` in Zendesk mode, sends N conversations that escalate, and prints
p50/p99 of the time from each escalation's 202 to the emulator receiving that ticket's
create, and the time for the whole batch to settle (every ticket created). Only
127.0.0.1 is contacted.

    python bench/escalation.py [--conversations 500] [--connections 8] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import orjson
from common import ROOT, percentile, post, service, signed_request, store_url

sys.path.insert(0, str(ROOT))
from tests.emulators.zendesk import ZendeskEmulator, serve
from ticketsync.adapters.chat import signing


def conversation(cid: str) -> list[bytes]:
    at = "2026-11-25T10:00:00Z"
    return [
        orjson.dumps(
            {
                "type": "conversation.started",
                "timestamp": at,
                "data": {
                    "conversation_id": cid,
                    "customer": {
                        "id": f"u_{cid}",
                        "email": f"{cid}@example.com",
                        "name": "Bench Customer",
                    },
                    "subject": "Charged twice",
                },
            }
        ),
        orjson.dumps(
            {
                "type": "message.created",
                "timestamp": at,
                "data": {
                    "conversation_id": cid,
                    "message_id": "m1",
                    "role": "user",
                    "content": "I was charged twice.",
                },
            }
        ),
        orjson.dumps(
            {
                "type": "conversation.escalated",
                "timestamp": at,
                "data": {"conversation_id": cid, "reason": "refund"},
            }
        ),
    ]


async def send_all(
    url: str, secret: str, ids: list[str], connections: int, rate: float | None = None
) -> dict[str, float]:
    """Send each conversation in order on one connection; return each escalation's 202 time.

    With `rate`, conversation i starts no sooner than i / rate seconds after the first:
    arrivals paced below what the help desk takes, so the latency is the service's own and
    not a queue's."""
    host, port = url.removeprefix("http://").split(":")
    acknowledged: dict[str, float] = {}
    pending = iter(enumerate(ids))
    start = time.monotonic()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for index, cid in pending:
                if rate is not None:
                    await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
                for body in conversation(cid):
                    status = await post(reader, writer, signed_request(host, secret, body))
                    if status != 202:
                        raise RuntimeError(f"{cid}: answered {status}")
                acknowledged[cid] = time.time()
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return acknowledged


def run_store(
    store: str,
    count: int,
    connections: int,
    rate: float | None = None,
    concurrency: int | None = None,
) -> dict[str, float]:
    secret = signing.generate_secret()
    emulator = ZendeskEmulator(email="bench@example.com", api_token="bench-token")  # noqa: S106
    ids = [f"esc_{store}_{i}" for i in range(count)]
    with (
        serve(emulator) as zendesk_url,
        tempfile.TemporaryDirectory(prefix="ticketsync-bench-") as folder,
        store_url(store, Path(folder)) as url,
        service(
            url,
            Path(folder),
            secret,
            {
                "TICKETSYNC_TICKETING": "zendesk",
                "TICKETSYNC_ZENDESK_URL": zendesk_url,
                "TICKETSYNC_ZENDESK_EMAIL": "bench@example.com",
                "TICKETSYNC_ZENDESK_API_TOKEN": "bench-token",
                "TICKETSYNC_ZENDESK_WEBHOOK_SECRET": "bench-zendesk-secret",
                **({"TICKETSYNC_OUTBOX_CONCURRENCY": str(concurrency)} if concurrency else {}),
            },
        ) as base,
    ):
        started = time.time()
        acknowledged = asyncio.run(send_all(base, secret, ids, connections, rate))
        received: dict[str, float] = {}
        deadline = time.monotonic() + 120
        while len(received) < count and time.monotonic() < deadline:
            for request in emulator.creates():
                cid = request.json["ticket"]["external_id"]
                received.setdefault(cid, request.received_at.timestamp())
            time.sleep(0.02)
        settled = time.time() - started
    latencies = [received[cid] - acknowledged[cid] for cid in ids if cid in received]
    return {
        "created": len(received),
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "settled_s": settled,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="conversations per second (default: as fast as possible)",
    )
    parser.add_argument(
        "--paced",
        type=float,
        default=None,
        metavar="RATE",
        help="also run paced at RATE conversations a second (--json only)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="TICKETSYNC_OUTBOX_CONCURRENCY for the service (default: its own)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()
    if args.json:
        figures = {}
        for store in args.stores.split(","):
            figures[store] = run_store(
                store, args.conversations, args.connections, args.rate, args.concurrency
            )
            if args.paced:
                paced = run_store(
                    store, args.conversations, args.connections, args.paced, args.concurrency
                )
                figures[store]["paced"] = {f"{args.paced:g} a second": paced}  # type: ignore[assignment]
        print(orjson.dumps(figures).decode())
        return 0
    print(
        f"escalation to Zendesk create: {args.conversations} conversations (3 webhooks each), "
        f"{args.connections} connections, "
        f"{'as fast as they go' if args.rate is None else f'{args.rate:g} a second'}, 127.0.0.1"
    )
    print(f"{'store':10} {'created':>8} {'p50 ms':>8} {'p99 ms':>8} {'settled s':>10}")
    for store in args.stores.split(","):
        figures = run_store(
            store, args.conversations, args.connections, args.rate, args.concurrency
        )
        print(
            f"{store:10} {figures['created']:8.0f} {figures['p50_ms']:8.1f} {figures['p99_ms']:8.1f} "
            f"{figures['settled_s']:10.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
