"""What a request's log line says beyond its method, path and status: the request id, and
the ids a webhook target read (the delivery id, the conversation id).

The access log (app.py) puts a dict under LOG_FIELDS in the request's scope; the webhook
targets (webhooks.py) add to it; the line is written with it when the answer is sent.
"""

from __future__ import annotations

import itertools
import os
import re

from starlette.types import Scope

# Where a request's own log facts wait for its line: the webhook targets add the delivery
# id and the conversation id they read (service/http/webhooks.py).
LOG_FIELDS = "ticketsync.log_fields"
REQUEST_ID_HEADER = b"x-request-id"
# A caller's request id is taken when it is this plain; anything else (too long, spaces,
# quotes, control characters) would let a caller write into our log lines.
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")
# Ours: a random prefix per process and a counter, unique across processes and cheaper
# than a random id per request.
_PROCESS_PREFIX = os.urandom(6).hex()
_request_numbers = itertools.count(1)


def _new_process() -> None:
    global _PROCESS_PREFIX
    _PROCESS_PREFIX = os.urandom(6).hex()  # a forked child must not repeat its parent's ids


os.register_at_fork(after_in_child=_new_process)


def request_id(scope: Scope) -> bytes:
    """The request's id: its X-Request-Id when present and sane, else a new one."""
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            if _SANE_REQUEST_ID.fullmatch(value):
                return value
            break
    return f"{_PROCESS_PREFIX}-{next(_request_numbers):x}".encode()
