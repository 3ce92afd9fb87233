"""The AI agent's side of ticketsync: send chat events, check what ticketsync sends back.

    from ticketsync.client import ChatClient, Refused, InvalidSignature, verify_event

Installed as `ticketsync.client` (pyproject.toml package-dir), kept in adapters/client/.
The repository's top-level folders are fixed, and this is the one that fits: the client
speaks HTTP to a party it does not control, as every adapter does, so it cannot live in
events/ or projections/ (pure, no I/O); and an agent installs it to talk to a ticketsync
it does not run, so it must not depend on service/, the server's wiring. It is no adapter
of the server's, though: nothing in service/ reaches it through a port, and it speaks for
the chat platform from the other end. It shares adapters/chat/signing.py, so the events it
signs and the server's check of them are one piece of code. It imports only events/, that
module and httpx and orjson (the package's own dependencies); tests/unit/test_layers.py
holds it to that.

Errors (all are ticketsync.events.errors.TicketsyncError):

    ClientError            anything the client raises on purpose
     +-- Refused           ticketsync answered 4xx (or 3xx): not sent again
     +-- Unavailable       no answer, a timeout or a 5xx, on every attempt
     +-- InvalidSignature  verify_event: not a delivery signed by ticketsync, or too old
"""

from ticketsync.client.chat import ChatClient
from ticketsync.client.errors import ClientError, InvalidSignature, Refused, Unavailable
from ticketsync.client.verify import verify_event

__all__ = [
    "ChatClient",
    "ClientError",
    "InvalidSignature",
    "Refused",
    "Unavailable",
    "verify_event",
]
