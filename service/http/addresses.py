"""Conversation ids in addresses: read from the raw path, so that an id may hold any character.

An id may hold `/`, `?`, `#` or `%`; a client sends those percent-encoded (`/` as `%2F`).
The server decodes `%2F` into the path Starlette routes on, where `foo%2Fexplain` (the
conversation `foo/explain`) and `foo/explain` (the explanation of `foo`) would look alike,
so the id is cut out of the raw path, where only a literal `/explain` is the explanation.
An unencoded `/` inside an id is still taken (`/conversations/acme/conv_1` is `acme/conv_1`).
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from starlette.convertors import PathConvertor, register_url_convertor
from starlette.types import Scope

from ticketsync.events import conversation_ids
from ticketsync.events.errors import Refused

# Routes name the id `{conversation_id:id}`: Starlette's `path` stops at a newline (its `.`),
# and a path holding one would be a 404 where the id's refusal says more.
CONVERTOR = "id"


class _AnyPath(PathConvertor):
    regex = "(?s:.*)"


register_url_convertor(CONVERTOR, _AnyPath())


def href(prefix: str, conversation_id: str, suffix: str = "") -> str:
    """The address of a conversation under `prefix`: its id percent-encoded, `/` included."""
    return prefix + quote(conversation_id, safe="") + suffix


def raw_path(scope: Scope) -> str:
    """The path as the client sent it (still percent-encoded), without the root path."""
    raw = scope.get("raw_path")
    if raw is None:
        # A server that does not keep it (it is optional in ASGI): the decoded path, which
        # cannot tell `%2F` from `/`.
        return quote(scope["path"], safe="/")
    text = raw.decode("latin-1").partition("?")[0]
    root = quote(scope.get("root_path", ""), safe="/")
    return text[len(root) :] if root and text.startswith(root) else text


def conversation(scope: Scope, prefix: str, suffixes: tuple[str, ...] = ()) -> tuple[str, str]:
    """The conversation id named in the path after `prefix`, and which of `suffixes` (a
    literal `/<suffix>` at the end) follows it, "" for none.

    Raises Refused (`invalid_path`, field `conversation_id`) for an id that could not have
    been accepted (events/conversation_ids.py) or is not UTF-8 once decoded.
    """
    path = raw_path(scope)
    rest = path[len(prefix) :] if path.startswith(prefix) else ""
    suffix = ""
    for candidate in suffixes:
        if rest.endswith("/" + candidate):
            rest, suffix = rest[: -len(candidate) - 1], candidate
            break
    try:
        conversation_id = unquote(rest, errors="strict")
    except UnicodeDecodeError:
        raise Refused(
            "invalid_path", "the conversation id in the path is not UTF-8", "conversation_id"
        ) from None
    problem = conversation_ids.problem(conversation_id)
    if problem is not None:
        raise Refused(
            "invalid_path",
            f"conversation id {problem}; an id is {conversation_ids.RULE}",
            "conversation_id",
        )
    return conversation_id, suffix
