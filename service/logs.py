"""Logging: JSON lines on stdout in production, a readable line in development.

Messages are stable event names; the facts travel as fields (`extra=`). Ids only: no
secrets and no message bodies are logged.
"""

from __future__ import annotations

import atexit
import collections
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import TextIO

import orjson

# Lines waiting for stdout at most; beyond this a blocked stdout costs lines, not memory.
MAX_WAITING = 10_000

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class ReadableFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        time = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        facts = " ".join(f"{key}={value}" for key, value in _fields(record).items())
        line = f"{time} {record.levelname.lower():7} {record.getMessage()} {facts}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class BackgroundLines(logging.Handler):
    """Format each record where it is logged; write the lines from a thread of their own.

    A write to stdout releases the interpreter lock and must win it back afterwards: the
    event loop, which logs every request, would wait behind the workers for it, and a stdout
    that blocks (a full pipe) would stop it. Lines are written in order, those waiting
    together, and flushed after each write. At most MAX_WAITING lines wait; what a blocked
    stdout makes us drop is counted, and the count written (`log.lines_dropped`) once lines
    flow again. `close`, also run at exit, writes what is left.
    """

    def __init__(self, stream: TextIO):
        super().__init__()
        self.stream = stream
        self.dropped = 0
        self._lines: collections.deque[str] = collections.deque()
        self._ready = threading.Event()
        self._writing = threading.Lock()
        self._closed = False
        self._writer = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._writer.start()
        atexit.register(self.close)

    def emit(self, record: logging.LogRecord) -> None:
        # Called under the handler's lock (Handler.handle), so the count is exact.
        if len(self._lines) >= MAX_WAITING:
            self.dropped += 1
            return
        try:
            self._lines.append(self.format(record))
        except Exception:
            self.handleError(record)
            return
        if self._closed:
            self._write()  # lines logged while the interpreter shuts down
        elif not self._ready.is_set():
            # Set: the writer has not cleared it yet, and drains only after it does.
            self._ready.set()

    def _run(self) -> None:
        while not self._closed:
            self._ready.wait()
            self._ready.clear()
            self._write()

    def _write(self) -> None:
        # One writer at a time keeps the order; records go on being taken meanwhile.
        with self._writing:
            with self.lock:  # type: ignore[union-attr]
                lines = [self._lines.popleft() for _ in range(len(self._lines))]
                dropped, self.dropped = self.dropped, 0
            if dropped:
                lines.append(self.format(_dropped(dropped)))
            if not lines:
                return
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass  # stdout is gone: there is nowhere left to say so

    def flush(self) -> None:
        """Write what is waiting now, in the calling thread."""
        self._write()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._ready.set()
            self._writer.join(timeout=5)
            self._write()
        super().close()


def _dropped(count: int) -> logging.LogRecord:
    return logging.makeLogRecord(
        {
            "name": __name__,
            "levelno": logging.WARNING,
            "levelname": "WARNING",
            "msg": "log.lines_dropped",
            "lines": count,
        }
    )


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or closed
        return False


def configure(*, dev: bool, level: str = "info", stream: TextIO | None = None) -> None:
    """Send every log line at `level` (debug, info, warning, error) or above to stdout (or
    `stream`), once: readable with `dev` or when it is a terminal (a person reads it), else
    JSON."""
    for old in logging.getLogger().handlers:
        if isinstance(old, BackgroundLines):
            old.close()
    out = sys.stdout if stream is None else stream
    handler = BackgroundLines(out)
    handler.setFormatter(ReadableFormatter() if dev or _is_terminal(out) else JsonFormatter())
    # Neither format shows where a line was logged from, nor the thread or process: the
    # logging HOWTO's "Optimization" switches turn off their collection for every record.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging.logAsyncioTasks = False  # type: ignore[attr-defined]
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access lines would repeat ours (service.http.AccessLog).
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
