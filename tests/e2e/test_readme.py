"""The README's examples, run as a reader runs them, against a real service."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support import ADMIN_TOKEN, CHAT_SECRET, running, wait_until

README = Path(__file__).parents[2] / "README.md"


def fenced_python(section: str) -> str:
    """The first ```python block after the heading `section`."""
    text = README.read_text(encoding="utf-8")
    after = text[text.index(f"### {section}\n") :]
    match = re.search(r"^```python\n(.*?)^```$", after, re.DOTALL | re.MULTILINE)
    assert match, f"no python block under {section!r}"
    return match.group(1)


def test_the_signed_webhook_snippet_reads_env_as_the_service_does(tmp_path: Path) -> None:
    # A .env as a person edits it: comments, blank lines, `export` and quotes.
    (tmp_path / ".env").write_text(
        "# written by serve --dev, then edited\n"
        "\n"
        f"TICKETSYNC_CHAT_WEBHOOK_SECRET='{CHAT_SECRET}'\n"
        "# the token for curl\n"
        f'export TICKETSYNC_ADMIN_TOKEN="{ADMIN_TOKEN}"\n',
        encoding="utf-8",
    )
    with running(f"sqlite:///{tmp_path / 'ticketsync.db'}", tmp_path) as server:
        snippet = fenced_python("Send a signed webhook")
        assert "TICKETSYNC_PUBLIC_URL" in snippet
        script = tmp_path / "send.py"
        script.write_text(snippet.replace("http://127.0.0.1:8000", server.url), encoding="utf-8")
        reader = {k: v for k, v in os.environ.items() if not k.startswith("TICKETSYNC_")}
        sent = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=reader,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert sent.returncode == 0, sent.stderr
        assert sent.stdout.startswith('202 {"status":"accepted"'), sent.stdout
        with server.admin() as admin:
            trail = wait_until(
                lambda: admin.get("/audit", params={"conversation_id": "conv_42"}).json()["events"]
            )
        assert trail[0]["type"] == "conversation.escalated"


def test_the_agent_developers_client_example_runs_as_written(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    after = text[text.index("## For the AI agent's developers\n") :]
    match = re.search(r"^```python\n(.*?)^```$", after, re.DOTALL | re.MULTILINE)
    assert match, "no python block for the AI agent's developers"
    with running(f"sqlite:///{tmp_path / 'ticketsync.db'}", tmp_path) as server:
        script = tmp_path / "agent.py"
        script.write_text(match.group(1), encoding="utf-8")
        reader = {k: v for k, v in os.environ.items() if not k.startswith("TICKETSYNC_")}
        reader |= {
            "TICKETSYNC_PUBLIC_URL": server.url,
            "TICKETSYNC_CHAT_WEBHOOK_SECRET": CHAT_SECRET,
            "TICKETSYNC_CHAT_REPLY_SECRET": CHAT_SECRET,
        }
        sent = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=reader,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert sent.returncode == 0, sent.stderr
        with server.admin() as admin:
            wait_until(lambda: admin.get("/conversations/conv_1").json().get("ticket"))
            view = admin.get("/conversations/conv_1").json()
        # The escalation handed the conversation to people.
        assert view["control"]["holder"] == "human"
