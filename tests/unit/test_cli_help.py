"""Every option and argument of every command says what it is in `--help`."""

from __future__ import annotations

import argparse

from ticketsync.service.cli.main import parser


def commands(top: argparse.ArgumentParser, path: str = "ticketsync"):
    yield path, top
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, f"{path} {name}")


def test_every_option_of_every_command_has_a_sentence() -> None:
    silent = [
        f"{path} {action.dest}"
        for path, command in commands(parser())
        for action in command._actions
        if not isinstance(action, argparse._SubParsersAction | argparse._HelpAction)
        and action.help != argparse.SUPPRESS
        and not action.help
    ]
    assert silent == []


def test_the_top_help_says_commands_read_env_here() -> None:
    assert ".env" in parser().format_help()
    assert "the folder it runs in" in parser().format_help()


def test_an_unambiguous_prefix_is_an_option_as_argparse_takes_it() -> None:
    from ticketsync.service.cli.main import _unknown_option

    assert _unknown_option(parser(), ["audit", "--conv", "c1"]) is None
    assert _unknown_option(parser(), ["outbox", "retry", "--all"]) is None
    assert parser().parse_args(["audit", "--conv", "c1"]).conversation == "c1"
    _, said = _unknown_option(parser(), ["audit", "--conversaton", "c1"])
    assert said == "unknown option --conversaton; did you mean --conversation?"


def test_an_ipv6_host_is_bracketed_in_the_urls_dev_saves(tmp_path, monkeypatch) -> None:
    from ticketsync.service import config
    from ticketsync.service.cli.main import _dev_public_url, _url_host

    assert _url_host("::1") == "[::1]"
    assert _url_host("0.0.0.0") == "127.0.0.1"  # noqa: S104
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TICKETSYNC_PUBLIC_URL", raising=False)
    saved = _dev_public_url(config.load({}), "::1", 8123)
    assert saved.public_url == "http://[::1]:8123"
    # The next start reads it back as this machine's, and moves it with the port.
    moved = _dev_public_url(config.load({}), "::1", 8124)
    assert moved.public_url == "http://[::1]:8124"
