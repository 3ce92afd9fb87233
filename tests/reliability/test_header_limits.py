"""Request heads (request line and headers): too large, too many headers, too slow.

docs/behaviour.md ("Limits"): over 16 KiB, or more than 100 headers, is answered 431 and
the connection closed before the rest is read; a head not whole 10 s after its first byte
is cut off; neither holds back other requests, and each holds on every request of a
keep-alive connection. Raw sockets against a real `ticketsync serve`, since the point is
what the server reads, and when.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.support import Server, message, running, signed

MAX_HEAD = 16 * 1024
FLOOD = 4 * 1024 * 1024
HEAD_TIMEOUT = 10.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("heads")
    with running(f"sqlite:///{folder / 't.db'}", folder) as started:
        yield started


@contextlib.contextmanager
def connection(server: Server) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        yield sock
    finally:
        sock.close()


def read_answer(sock: socket.socket, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """One whole answer from `sock`: its status, headers and body."""
    deadline = time.monotonic() + timeout
    received = b""
    while b"\r\n\r\n" not in received:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed after {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    while len(body) < int(headers["content-length"]):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        assert chunk, "the connection closed mid-body"
        body += chunk
    return int(status_line.split()[1]), headers, body


def closed(sock: socket.socket, timeout: float = 5.0) -> bool:
    """Whether the server closes `sock` within `timeout` (anything it still sends is read)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
    return False


def healthz(headers: bytes = b"") -> bytes:
    return b"GET /healthz HTTP/1.1\r\nhost: x\r\n" + headers + b"\r\n"


def padded_head(first_lines: bytes, size: int) -> bytes:
    """A head of exactly `size` bytes: `first_lines`, then an x-pad header to fill it."""
    head = first_lines + b"x-pad: \r\n\r\n"
    assert len(head) <= size
    return first_lines + b"x-pad: " + b"a" * (size - len(head)) + b"\r\n\r\n"


def flood(sock: socket.socket) -> tuple[int, bytes]:
    """Send a request whose one header is 4 MiB, as fast as the socket takes it, until the
    server answers or stops reading; how much was sent, and what the server said."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-flood: ")
    sent = 0
    chunk = b"a" * 4096
    try:
        while sent < FLOOD:
            sock.sendall(chunk)
            sent += len(chunk)
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
        else:
            sock.sendall(b"\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = b""
    deadline = time.monotonic() + 10
    with contextlib.suppress(ConnectionResetError, TimeoutError):
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    return sent, answer


def assert_headers_too_large(answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"connection: close" in head.lower()
    assert orjson.loads(body)["error"] == "headers_too_large"


class Poller:
    """GET /healthz in a loop on its own connection, timing each answer, until stopped."""

    def __init__(self, server: Server):
        self.server = server
        self.times: list[float] = []
        self.statuses: list[int] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            while not self.stopping.is_set():
                started = time.monotonic()
                status = client.get("/healthz").status_code
                self.times.append(time.monotonic() - started)
                self.statuses.append(status)
                self.stopping.wait(0.02)  # a client's pace, not a wait for anything

    def __enter__(self) -> Poller:
        self.thread.start()
        self.wait_for(5)
        return self

    def wait_for(self, polls: int) -> None:
        target = len(self.times) + polls
        deadline = time.monotonic() + 10
        while len(self.times) < target and self.thread.is_alive():
            assert time.monotonic() < deadline, "the poller made no progress"
            self.stopping.wait(0.01)

    def __exit__(self, *exc: object) -> None:
        self.wait_for(5)  # and some after
        self.stopping.set()
        self.thread.join(timeout=30)


def test_a_header_flood_is_refused_early_and_holds_up_no_one(server: Server) -> None:
    with Poller(server) as poller, connection(server) as flooding:
        flooding.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
        sent, answer = flood(flooding)
    # Refused once it passed 16 KiB: what it sent after that is what the sockets buffered.
    assert sent < FLOOD // 4, f"{sent} bytes were sent before the answer"
    assert_headers_too_large(answer)
    assert max(poller.times) < 1.0, max(poller.times)
    assert set(poller.statuses) == {200}


def test_more_than_100_headers_are_refused(server: Server) -> None:
    # host and 99 more: 100 in all, served.
    hundred = b"".join(b"x-h%d: v\r\n" % n for n in range(99))
    with connection(server) as sock:
        sock.sendall(healthz(hundred))
        status, _, _ = read_answer(sock)
    assert status == 200
    with connection(server) as sock:
        sock.sendall(healthz(hundred + b"x-one-more: v\r\n"))
        status, headers, body = read_answer(sock)
        assert status == 431
        assert orjson.loads(body)["error"] == "headers_too_large"
        assert headers["connection"] == "close"
        assert closed(sock)


def test_a_head_of_16_kib_is_served_and_one_byte_more_is_not(server: Server) -> None:
    first_lines = b"GET /healthz HTTP/1.1\r\nhost: x\r\n"
    with connection(server) as sock:
        sock.sendall(padded_head(first_lines, MAX_HEAD))
        assert read_answer(sock)[0] == 200
    with connection(server) as sock:
        sock.sendall(padded_head(first_lines, MAX_HEAD + 1))
        status, _, body = read_answer(sock)
        assert status == 431
        assert orjson.loads(body)["error"] == "headers_too_large"
        assert closed(sock)


def test_a_delivery_with_a_head_under_16_kib_and_a_long_body_is_accepted(server: Server) -> None:
    """The head ends within its limit, its body runs past it in the same read: accepted."""
    body, signed_headers = signed(message("conv_long_head", content="b" * 60_000))
    first_lines = (
        b"POST /webhooks/chat HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n" % len(body)
        + "".join(f"{name}: {value}\r\n" for name, value in signed_headers.items()).encode()
    )
    with connection(server) as sock:
        sock.sendall(padded_head(first_lines, MAX_HEAD - 100) + body)
        status, _, answer = read_answer(sock)
    assert status == 202, answer


def test_the_limits_hold_on_the_second_request_of_a_connection(server: Server) -> None:
    with connection(server) as sock:
        sock.sendall(healthz())
        status, headers, _ = read_answer(sock)
        assert status == 200
        assert headers.get("connection") != "close"
        # Idle a moment (under uvicorn's keep-alive timeout), then a normal request again.
        assert not closed(sock, timeout=1.0)
        sock.sendall(healthz())
        assert read_answer(sock)[0] == 200
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
        sent, answer = flood(sock)
    assert sent < FLOOD // 4, f"{sent} bytes were sent before the answer"
    assert_headers_too_large(answer)


def trickle(sock: socket.socket, started: list[float], ended: list[float]) -> None:
    """Send a head one byte a second, never ending it, until the server answers or closes
    (or 5 s past the limit, when it does neither)."""
    head = b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: " + b"a" * 30
    sock.sendall(head[:1])
    started.append(time.monotonic())
    for byte in head[1:]:
        # Waiting for the server to speak is also the client's one-second pace.
        readable, _, _ = select.select([sock], [], [], 1.0)
        if readable or time.monotonic() - started[0] > HEAD_TIMEOUT + 5:
            break
        try:
            sock.send(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
    ended.append(time.monotonic())


def test_a_head_sent_a_byte_a_second_is_cut_off_after_10_s(server: Server) -> None:
    """On a new connection, and on the second request of one that served a first."""
    with connection(server) as fresh, connection(server) as kept, Poller(server) as poller:
        kept.sendall(healthz())
        assert read_answer(kept)[0] == 200
        times: dict[str, tuple[list[float], list[float]]] = {"fresh": ([], []), "kept": ([], [])}
        threads = [
            threading.Thread(target=trickle, args=(sock, *times[name]))
            for name, sock in (("fresh", fresh), ("kept", kept))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=HEAD_TIMEOUT + 10)
        for name, sock in (("fresh", fresh), ("kept", kept)):
            (started,), (ended,) = times[name]
            assert HEAD_TIMEOUT - 0.5 < ended - started < HEAD_TIMEOUT + 2.5, (
                name,
                ended - started,
            )
            status, _, body = read_answer(sock)
            assert status == 408, name
            assert orjson.loads(body)["error"] == "request_timeout"
            assert closed(sock)
    assert max(poller.times) < 1.0


def test_empty_lines_before_a_request_line_do_not_hide_a_large_head(server: Server) -> None:
    """The parser skips empty lines before a request line: their CRLFs end no head."""
    with connection(server) as sock:
        sock.sendall(b"\r\n\r\n" + healthz()[:-2] + b"x-pad: " + b"a" * (100 * 1024))
        status, _, body = read_answer(sock, timeout=HEAD_TIMEOUT / 2)
        assert status == 431
        assert orjson.loads(body)["error"] == "headers_too_large"
        assert closed(sock)
