"""Signing in to the console: the session cookie, its CSRF token, and the Origin check.

The cookie is never the admin token: it is an issue time, a random nonce and an
HMAC-SHA256 of both keyed by the token, so it cannot be turned back into the token, it ends
after SESSION_SECONDS, and changing TICKETSYNC_ADMIN_TOKEN signs everyone out. The CSRF token
of a session is another HMAC, of the cookie, so a form posted from another site (which cannot
read the page) cannot carry it. Pure functions of the token, the values and the time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

COOKIE = "ticketsync_console"
SESSION_SECONDS = 12 * 3600
# An issue time this far ahead of the clock is a forgery or a clock gone wrong.
CLOCK_SKEW_SECONDS = 60


def _mac(token: str, purpose: str, message: str) -> str:
    digest = hmac.new(token.encode(), f"{purpose}\n{message}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_matches(given: str, token: str | None) -> bool:
    """Whether `given` is the admin token, compared in constant time; never with no token."""
    return bool(token) and hmac.compare_digest(given.encode(), str(token).encode())


def issue(token: str, now: float) -> str:
    """A new session cookie's value, issued at `now`."""
    message = f"{int(now)}.{secrets.token_urlsafe(12)}"
    return f"{message}.{_mac(token, 'console-session', message)}"


def valid(cookie: str | None, token: str | None, now: float) -> bool:
    """Whether `cookie` is a session this token issued that has not run out."""
    if not cookie or not token:
        return False
    message, _, mac = cookie.rpartition(".")
    issued_text, _, nonce = message.partition(".")
    # A unix time has few digits; a longer one is no cookie of ours (and int() of thousands
    # of digits raises).
    if not (
        len(issued_text) <= 12 and issued_text.isascii() and issued_text.isdigit() and nonce and mac
    ):
        return False
    issued = int(issued_text)
    if not now - SESSION_SECONDS < issued <= now + CLOCK_SKEW_SECONDS:
        return False
    return hmac.compare_digest(mac.encode(), _mac(token, "console-session", message).encode())


def csrf_token(cookie: str, token: str) -> str:
    """The CSRF token of a session: what every form of its pages carries."""
    return _mac(token, "console-csrf", cookie)


def csrf_valid(given: str | None, cookie: str, token: str) -> bool:
    """Whether a posted CSRF token belongs to this session (constant time)."""
    return bool(given) and hmac.compare_digest(
        str(given).encode(), csrf_token(cookie, token).encode()
    )


def same_origin(origin: str | None, scheme: str, host: str | None) -> bool:
    """Whether a request's Origin header, when it has one, is the console's own origin.

    Browsers send Origin with every POST; a missing one (an older client, a tool) is left
    to the CSRF token alone. `null` (a sandboxed or privacy-stripped origin) is refused.
    Behind a proxy that ends TLS the service may see `http` where the browser said
    `https`, so `https` counts too for the same host and port.
    """
    if origin is None:
        return True
    return bool(host) and origin in (f"{scheme}://{host}", f"https://{host}")


def cookie_header(value: str, *, secure: bool, max_age: int = SESSION_SECONDS) -> str:
    """The Set-Cookie header of a session (an empty value and max_age 0 end it)."""
    parts = [
        f"{COOKIE}={value}",
        "Path=/ui",
        f"Max-Age={max_age}",
        "HttpOnly",
        "SameSite=Strict",
    ]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
