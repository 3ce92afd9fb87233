"""The HTTP/1.1 connection: uvicorn's httptools protocol, with limits on each request's head.

httptools reads a request line and headers of any size, and joins a header that arrives in
pieces by copying what it has each time (quadratic, on the one event loop); it also waits
for the end of the headers for as long as a client cares to take. docs/behaviour.md
("Limits") bounds both, on every request of a connection, keep-alive ones included:

- a head (request line and headers, up to the empty line that ends them) over
  MAX_HEAD_BYTES, or with more than MAX_HEADERS headers, is answered `431` and the
  connection closed, without reading the rest of it;
- a head that is not whole HEAD_TIMEOUT seconds after its first byte arrived is answered
  `408` and the connection closed.

The answers are the service's error bodies (errors.py), written here because the
application never sees these requests.
"""

from __future__ import annotations

import asyncio
import http
import logging
from typing import Any

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ticketsync.service.http import errors

logger = logging.getLogger(__name__)

MAX_HEAD_BYTES = 16 * 1024
MAX_HEADERS = 100
HEAD_TIMEOUT = 10.0
END_OF_HEAD = b"\r\n\r\n"


class _Refused(Exception):
    """Raised in a parser callback to stop the parser once a request has been answered."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a head too large, too many headers, or too slow.

    A request whose head comes in one read, as nearly all do, costs a sum and a comparison
    more than uvicorn's own: the end of head is looked for only when a read would pass the
    limit, and the deadline is set only for a head still open after a read.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Bytes of the current request's head read so far; None while its body is read.
        self.head_read: int | None = 0
        # The open head's last bytes, for an end of head split across two reads.
        self.head_tail = b""
        self.head_deadline: asyncio.TimerHandle | None = None
        self.refused = False

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self.head_read is not None:
            read = self.head_read + len(data)
            if read > MAX_HEAD_BYTES and not self.head_ends_within(data):
                # Refused before the parser sees this read: it would copy it all again.
                self.refuse_too_large()
                return
            self.head_read = read
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            if self.refused:
                return
            message = "Invalid HTTP request received."
            self.logger.warning(message)
            self.send_400_response(message)
            return
        if self.head_read is not None:
            # A head still open after this read (or one begun in it, after the request
            # it ended: counted from the next read).
            if self.head_read > MAX_HEAD_BYTES:
                # The read held an end of head only before the request line (the parser
                # skips empty lines there).
                self.refuse_too_large()
                return
            self.head_tail = (self.head_tail + data[-3:])[-3:]
            if self.head_deadline is None:
                self.head_deadline = self.loop.call_later(HEAD_TIMEOUT, self.head_timed_out)

    def refuse_too_large(self) -> None:
        self.refuse(
            "headers_too_large",
            f"the request line and headers are larger than {MAX_HEAD_BYTES} bytes",
        )

    def head_ends_within(self, data: bytes) -> bool:
        """Whether the head ends in `data` before it is longer than MAX_HEAD_BYTES."""
        room = max(0, MAX_HEAD_BYTES - (self.head_read or 0))
        return END_OF_HEAD in self.head_tail + data[:room]

    def on_headers_complete(self) -> None:
        self.head_read = None
        self.cancel_head_deadline()
        if len(self.headers) > MAX_HEADERS:
            # Counted once, here: the byte limit already bounds what the parser kept.
            self.refuse("headers_too_large", f"the request has more than {MAX_HEADERS} headers")
            raise _Refused
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.head_read = 0
        self.head_tail = b""
        super().on_message_complete()

    def head_timed_out(self) -> None:
        self.head_deadline = None
        if self.head_read is not None and not self.refused:
            self.refuse(
                "request_timeout",
                f"the request line and headers took more than {HEAD_TIMEOUT:g} s to arrive",
            )

    def cancel_head_deadline(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_head_deadline()
        super().connection_lost(exc)

    def refuse(self, code: str, detail: str) -> None:
        """Answer `code` with the service's error body, and close the connection."""
        self.refused = True
        self.head_read = None
        self.cancel_head_deadline()
        status, content, _ = errors.refused(code, detail)
        body = orjson.dumps(content)
        lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n".encode()]
        lines += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        lines += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n",
            b"\r\n",
            body,
        ]
        self.transport.write(b"".join(lines))
        self.transport.close()
        logger.info("http.refused", extra={"status": status, "error": code})
