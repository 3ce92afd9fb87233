"""The Retry-After header read as seconds to wait, for every adapter that calls out over HTTP.

RFC 9110 section 10.2.3 (https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3) allows two
forms: delay-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2026 07:28:00 GMT`, or one of the
two obsolete date formats recipients must still accept, section 5.6.7). A date in the past
means "now" (0 seconds); an absent, empty or unreadable value is no hint at all (None), and
the caller picks its own wait.

Only the standard library is imported, so any adapter can use this without importing another.
"""

from __future__ import annotations

import math
import re
from datetime import UTC
from email.utils import parsedate_to_datetime

# delay-seconds is 1*DIGIT. A decimal fraction is read too: no system we call sends one,
# but throwing it away would make the caller wait its default (a minute) instead.
_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from `now` (unix seconds) that a Retry-After value asks for.

    Returns None when `value` is absent, empty, or neither delay-seconds nor an HTTP-date;
    never raises.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if _SECONDS.fullmatch(value):
        seconds = float(value)
        # Hundreds of digits make float() infinite; such a header is garbage, not a wait.
        return seconds if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # HTTP-dates are always GMT; the asctime form carries no zone and is read as naive.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return max(moment.timestamp() - now, 0.0)
    except (OverflowError, OSError, ValueError):
        return None
