"""The log handler: lines in order, written by their own thread, bounded when stdout blocks."""

from __future__ import annotations

import io
import logging
import sys
import threading
import time

import orjson
import pytest

from ticketsync.service import logs


class Blocking(io.StringIO):
    """A stdout whose writes wait until the test lets them through."""

    def __init__(self) -> None:
        super().__init__()
        self.open = threading.Event()
        self.writing = threading.Event()

    def write(self, text: str) -> int:
        self.writing.set()
        self.open.wait(10)
        return super().write(text)


def handler_on(stream: io.StringIO) -> tuple[logs.BackgroundLines, logging.Logger]:
    handler = logs.BackgroundLines(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger(f"test_logs.{id(handler)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return handler, logger


def events(text: str) -> list[dict]:
    return [orjson.loads(line) for line in text.splitlines()]


def test_lines_arrive_in_order_as_json_with_their_fields():
    stream = io.StringIO()
    handler, logger = handler_on(stream)
    for number in range(200):
        logger.info("webhook.accepted", extra={"position": number})
    handler.close()
    lines = events(stream.getvalue())
    assert [line["position"] for line in lines] == list(range(200))
    assert {line["event"] for line in lines} == {"webhook.accepted"}


def test_the_writer_thread_writes_without_a_flush_or_close():
    stream = io.StringIO()
    handler, logger = handler_on(stream)
    logger.info("http.request", extra={"status": 202})
    deadline = time.monotonic() + 5
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.005)
    [line] = events(stream.getvalue())
    assert (line["event"], line["status"], line["level"]) == ("http.request", 202, "info")
    handler.close()


def test_a_blocked_stdout_does_not_block_the_caller_and_the_loss_is_counted(monkeypatch):
    monkeypatch.setattr(logs, "MAX_WAITING", 5)
    stream = Blocking()
    handler, logger = handler_on(stream)
    logger.info("first")
    assert stream.writing.wait(5)  # the writer thread is stuck in write()
    for number in range(8):
        logger.info("waiting", extra={"n": number})  # returns at once, blocked or not
    assert handler.dropped == 3
    stream.open.set()
    handler.close()
    lines = events(stream.getvalue())
    assert [line["event"] for line in lines] == ["first", *["waiting"] * 5, "log.lines_dropped"]
    assert [line["n"] for line in lines[1:6]] == [0, 1, 2, 3, 4]
    assert lines[-1]["lines"] == 3
    assert lines[-1]["level"] == "warning"


def test_lines_logged_after_close_are_still_written():
    stream = io.StringIO()
    handler, logger = handler_on(stream)
    handler.close()
    logger.warning("late")
    assert [line["event"] for line in events(stream.getvalue())] == ["late"]


@pytest.mark.parametrize("level, shown", [("info", ["info", "warning"]), ("warning", ["warning"])])
def test_configure_sets_the_level(level, shown, capsys):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure(dev=False, level=level)
        logging.getLogger("test_logs").info("info")
        logging.getLogger("test_logs").warning("warning")
        root.handlers[0].close()
        assert [line["event"] for line in events(capsys.readouterr().out)] == shown
    finally:
        root.handlers[:], root.level = saved[0], saved[1]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream, readable", [(Terminal(), True), (io.StringIO(), False)])
def test_lines_are_readable_on_a_terminal_and_json_elsewhere(stream, readable, monkeypatch):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    monkeypatch.setattr(sys, "stdout", stream)
    try:
        logs.configure(dev=False)
        logging.getLogger("test_logs").info("outbox.attempt", extra={"call_id": "call-1-0"})
        root.handlers[0].close()
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    (line,) = stream.getvalue().splitlines()
    if readable:
        assert "info    outbox.attempt call_id=call-1-0" in line
        assert not line.startswith("{")
    else:
        assert orjson.loads(line)["call_id"] == "call-1-0"
