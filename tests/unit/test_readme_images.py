"""Every picture the README shows is in the repository, a PNG of about a screen's size."""

from __future__ import annotations

import re
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_shows_only_pictures_that_exist() -> None:
    shown = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert {
        "docs/images/console-overview.png",
        "docs/images/console-conversation.png",
        "docs/images/console-outbox.png",
    } <= set(shown)
    for path in shown:
        data = (ROOT / path).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", path
        width, height = struct.unpack(">II", data[16:24])
        assert (width, height) == (1280, 800), path
