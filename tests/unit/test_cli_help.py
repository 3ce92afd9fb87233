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
