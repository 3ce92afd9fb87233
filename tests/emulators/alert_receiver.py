"""An admin's incoming-webhook channel (Slack, Mattermost, Teams) for tests: records POSTs.

    receiver = AlertReceiver()
    with serve(receiver) as url:          # TICKETSYNC_ALERT_WEBHOOK_URL
        ...
    receiver.texts()                      # what was accepted, in order

`down = True` answers every POST 503 without recording it; `attempts` counts every POST.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

PATH = "/hooks/T000/B000/alert-channel-token"


class AlertReceiver:
    def __init__(self) -> None:
        self.down = False
        self.attempts = 0
        self._texts: list[str] = []
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route(PATH, self._endpoint, methods=["POST"])])

    async def _endpoint(self, request: Request) -> PlainTextResponse:
        body = await request.body()
        with self._lock:
            self.attempts += 1
            if self.down:
                return PlainTextResponse("service unavailable", status_code=503)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
            return PlainTextResponse("no_text", status_code=400)
        with self._lock:
            self._texts.append(payload["text"])
        return PlainTextResponse("ok")

    def texts(self, containing: str = "") -> list[str]:
        with self._lock:
            return [text for text in self._texts if containing in text]


@contextmanager
def serve(receiver: AlertReceiver) -> Iterator[str]:
    """Serve the receiver with uvicorn on 127.0.0.1 in a thread; yield the URL to POST to."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}{PATH}"
    server = uvicorn.Server(
        uvicorn.Config(receiver.app, lifespan="off", log_config=None, access_log=False)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="alert-receiver", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            raise RuntimeError(f"alert receiver did not start on {url}")
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
