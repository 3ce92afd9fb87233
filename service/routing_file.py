"""The routing file named by `TICKETSYNC_ROUTING_FILE`: read, parsed as TOML, made a table.

Configuration reads the file; `projections/routing.py` checks its shape and builds the table.
Every problem raises ConfigError with a one-line message that names the variable and the
file, then what is wrong: a file that cannot be read, is not UTF-8, is not TOML (tomllib's
reason, with its line and column), or has the wrong shape (the key path at fault):
`TICKETSYNC_ROUTING_FILE: routing.toml: intents.billing_problem.priority must be one of: ...`.
"""

from __future__ import annotations

import codecs
import tomllib
from pathlib import Path

from ticketsync.events.errors import ConfigError
from ticketsync.projections.routing import InvalidRouting, RoutingTable, routing_table

VARIABLE = "TICKETSYNC_ROUTING_FILE"


def load_routing(path: str | Path) -> RoutingTable:
    """Read a routing file (TOML, CONTRACT section 4) into a table that replaces the built-in one.

    Raises ConfigError when the file cannot be read, is not UTF-8 TOML, or does not have the
    contract's shape; the message starts with `TICKETSYNC_ROUTING_FILE: <path>: `.
    """
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        reason = error.strerror or error.__class__.__name__
        raise ConfigError(f"{VARIABLE}: {source}: cannot be read: {reason}") from error
    # Editors on Windows may save UTF-8 with a byte-order mark, which tomllib refuses.
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(f"{VARIABLE}: {source}: not valid UTF-8 (at line {line})") from error
    return parse_routing(text, source=source)


def parse_routing(text: str, *, source: str = "<routing file>") -> RoutingTable:
    """Parse a routing file's text; `source` names the file in error messages.

    Raises ConfigError as `load_routing` does.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # tomllib's message already says where: "Invalid value (at line 3, column 12)".
        raise ConfigError(f"{VARIABLE}: {source}: invalid TOML: {error}") from error
    try:
        return routing_table(document)
    except InvalidRouting as problem:
        raise ConfigError(f"{VARIABLE}: {source}: {problem}") from None
