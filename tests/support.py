"""Helpers shared by the tests: signing, payload builders, polling, a real server process."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

from ticketsync.adapters.chat import signing

CHAT_SECRET = "whsec_" + "dGVzdC1zZWNyZXQtZm9yLXRpY2tldHN5bmMtMDEyMzQ1"  # base64 of a test key
OTHER_SECRET = "whsec_" + "b3RoZXItc2VjcmV0LW5vdC1jb25maWd1cmVkLWhlcmU="
# At least 32 characters: `serve` refuses a shorter admin token (docs/behaviour.md, Limits).
ADMIN_TOKEN = "test-admin-token-0123456789abcdefghij"


def under_ci() -> bool:
    """Whether this run is CI's: `CI` set to a true value (`CI=false` is not CI)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds.

    A KeyError counts as "not yet": a predicate reading a resource that is not there yet
    (a conversation the workers, in their own process, have still to project) reads the
    error body's keys.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except KeyError as missing:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"condition not met within {timeout} s: {predicate} (no key {missing})"
                ) from None
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def payload(event_type: str, conversation_id: str = "conv_1", **data: Any) -> dict[str, Any]:
    return {
        "type": event_type,
        "timestamp": "2026-11-25T10:00:00Z",
        "data": {"conversation_id": conversation_id, **data},
    }


def message(
    conversation_id: str = "conv_1", role: str = "user", content: str = "hello", **extra: Any
) -> dict[str, Any]:
    return payload(
        "message.created",
        conversation_id,
        message_id=extra.pop("message_id", f"m_{uuid.uuid4().hex[:8]}"),
        role=role,
        content=content,
        **extra,
    )


def signed(
    body: bytes | dict[str, Any] | list[Any],
    *,
    webhook_id: str | None = None,
    secret: str = CHAT_SECRET,
    timestamp: float | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A body and the headers of a correctly signed delivery of it."""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = signing.signed_headers(
        secret,
        webhook_id or f"evt_{uuid.uuid4().hex}",
        raw,
        time.time() if timestamp is None else timestamp,
    )
    headers["content-type"] = "application/json"
    return raw, headers


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TICKETSYNC_")}
    env.update(
        TICKETSYNC_DATABASE_URL=database_url,
        TICKETSYNC_CHAT_WEBHOOK_SECRET=CHAT_SECRET,
        TICKETSYNC_ADMIN_TOKEN=ADMIN_TOKEN,
    )
    env.update(extra)
    return env


def ticketsync_command() -> list[str]:
    """The installed console script next to this interpreter."""
    script = Path(sys.executable).parent / "ticketsync"
    return (
        [str(script)] if script.exists() else [sys.executable, "-m", "ticketsync.service.cli.main"]
    )


def run_cli(
    args: list[str], cwd: Path, env: Mapping[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """`ticketsync ARGS` to its end, output captured, with no terminal to read from."""
    return subprocess.run(
        [*ticketsync_command(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


class Server:
    """A real `ticketsync serve` process on 127.0.0.1."""

    def __init__(
        self,
        database_url: str,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        args: tuple[str, ...] = (),
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cwd = cwd
        self.env = server_env(database_url, **(env or {}))
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        self.output = cwd / f"server-{self.port}.log"

    def start(self) -> Server:
        with self.output.open("ab") as sink:
            self.process = subprocess.Popen(
                [*ticketsync_command(), "serve", "--port", str(self.port), *self.args],
                cwd=self.cwd,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._ready, timeout=20)
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"server exited with {self.process.returncode}:\n{self.logs()}")
        try:
            return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def logs(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def children(self) -> list[int]:
        """The processes `serve` started (its workers), while it runs."""
        if self.process is None or self.process.poll() is not None:
            return []
        return children_of(self.process.pid)

    def kill(self) -> None:
        """SIGKILL, and wait until its workers have ended too (they must within 5 s)."""
        if self.process and self.process.poll() is None:
            workers = self.children()
            self.process.kill()
            self.process.wait()
            wait_until(lambda: not any(alive(pid) for pid in workers), timeout=5)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, **kwargs)

    def admin(self) -> httpx.Client:
        return self.client(headers={"authorization": f"Bearer {ADMIN_TOKEN}"})


def children_of(pid: int) -> list[int]:
    """The child processes of `pid` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    """Whether `pid` is a process that has not ended (a zombie has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@contextmanager
def running(database_url: str, cwd: Path, **kwargs: Any) -> Iterator[Server]:
    server = Server(database_url, cwd, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


class TcpProxy:
    """A TCP forwarder on 127.0.0.1 that a test can cut and restore, to play a database outage."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """Refuse new connections and reset every open one."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        if listener is not None:
            listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def quiet(admin: httpx.Client, timeout: float = 60) -> None:
    """Wait until the service has nothing left to do: the projection has read the whole log,
    no call is pending, and the log did not move in between."""

    def still() -> bool:
        before = admin.get("/healthz").json()
        if before["projections"]["conversations"]["lag"]:
            return False
        if admin.get("/outbox", params={"state": "pending"}).json()["calls"]:
            return False
        after = admin.get("/healthz").json()
        return (
            after["position"] == before["position"]
            and not after["projections"]["conversations"]["lag"]
        )

    wait_until(still, timeout=timeout, interval=0.1)


def unresolved_causes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audit events whose `caused_by` names no event of `events` (none, in a whole trail)."""
    shown = {(e["position"], e["id"]) for e in events}
    return [
        e
        for e in events
        if e["caused_by"] is not None
        and (e["caused_by"]["position"], e["caused_by"]["id"]) not in shown
    ]


def with_members(body: bytes, after: bytes, members: bytes) -> bytes:
    """`body` with raw JSON `members` written just after the first `after`: how a test
    writes a repeated key, which no JSON library writes."""
    assert after in body, after
    return body.replace(after, after + members, 1)
