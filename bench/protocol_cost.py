"""CPU per request of serve's HTTP protocol alone, beside uvicorn's own httptools protocol.

Each protocol reads the same signed chat webhook (one read: its head and body) from a
stand-in transport and answers it with a minimal ASGI app on a uvloop event loop, `count`
times a round; the rounds alternate between the two. It prints the median microseconds
of CPU (process time) per request of each, and the difference: what the request-head
limits (service/http/protocol.py) cost a request whose head comes whole, as nearly all do.

    python bench/protocol_cost.py [--count 20000] [--rounds 7] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

import orjson
import uvloop
from common import ROOT
from starlette.types import Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

sys.path.insert(0, str(ROOT))
from ticketsync.service.http.protocol import LimitedHttpToolsProtocol

BODY = orjson.dumps(
    {
        "type": "message.created",
        "timestamp": "2026-12-08T10:00:00Z",
        "data": {
            "conversation_id": "bench_1",
            "message_id": "m1",
            "role": "user",
            "content": "My invoice shows the same charge twice this month.",
        },
    }
)
REQUEST = (
    b"POST /webhooks/chat HTTP/1.1\r\nhost: 127.0.0.1:8000\r\ncontent-type: application/json\r\n"
    b"webhook-id: evt_0123456789abcdef0123456789abcdef\r\nwebhook-timestamp: 1765188000\r\n"
    b"webhook-signature: v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=\r\n"
    b"content-length: %d\r\n\r\n" % len(BODY)
) + BODY


async def accept(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b'{"status":"accepted"}'})


class Transport:
    """Just enough of an asyncio transport: takes what is written, never blocks."""

    closing = False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def per_request(protocol_class: type, count: int) -> float:
    """Microseconds of CPU per request, over `count` requests on one connection."""
    config = Config(app=accept, log_config=None, access_log=False, http=protocol_class)
    config.load()
    state = ServerState()
    protocol = protocol_class(config=config, server_state=state, app_state={})
    protocol.connection_made(Transport())
    started = time.process_time()
    for _ in range(count):
        protocol.data_received(REQUEST)
        # The app's task: its receive, then its two sends.
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    spent = time.process_time() - started
    if state.total_requests != count:
        raise RuntimeError(f"{state.total_requests} of {count} requests were answered")
    return spent / count * 1e6


async def measure(count: int, rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {"uvicorn": [], "limited": []}
    for _ in range(rounds):
        times["uvicorn"].append(await per_request(HttpToolsProtocol, count))
        times["limited"].append(await per_request(LimitedHttpToolsProtocol, count))
    uvicorn, limited = (statistics.median(times[name]) for name in ("uvicorn", "limited"))
    return {"uvicorn_us": uvicorn, "limited_us": limited, "difference_us": limited - uvicorn}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000, help="requests a round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of each protocol")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()
    figures = uvloop.run(measure(args.count, args.rounds))
    if args.json:
        print(orjson.dumps(figures).decode())
        return 0
    print(
        f"CPU per request, median of {args.rounds} rounds of {args.count}: uvicorn's httptools "
        f"{figures['uvicorn_us']:.1f} us, with the head limits {figures['limited_us']:.1f} us "
        f"({figures['difference_us']:+.1f} us)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
