"""The command line: lazy commands whose table matches them, help on every option."""

from __future__ import annotations

import subprocess
import sys

import click

from connector.cli.main import COMMANDS, cli


def _walk(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{path} {name}"
            found += _walk(sub, f"{path} {name}")
    return found


def test_the_command_table_says_what_each_command_says_of_itself() -> None:
    ctx = click.Context(cli)
    for name, (_module, _attribute, text) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
        assert command.get_short_help_str(limit=200) == text, name


def test_every_option_has_help_text() -> None:
    missing = [(path, option.name) for path, command in _walk(cli, "connector")
               for option in command.params
               if isinstance(option, click.Option) and not option.help]
    assert missing == []


def test_help_and_version_import_no_command() -> None:
    probe = ("import sys; from connector.cli.main import cli\n"
             "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
             "heavy = [m for m in ('sqlalchemy', 'flask', 'reportlab', 'connector.sync.runner')"
             " if m in sys.modules]\nprint(heavy)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
