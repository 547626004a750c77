"""Entry point of the ``connector`` command.

Exit codes: 0 success (including runs with rejected rows), 1 a run or command
failed as a whole, 2 usage or configuration errors.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from connector import __version__
from connector.cli import commands
from connector.cli.context import CliContext, make_context
from connector.errors import ConfigurationError, ConnectorError
from connector.logging_setup import configure_logging


class ConnectorGroup(click.Group):
    """Turns our errors into clean messages and exit codes instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigurationError as exc:
            raise ConfigProblem(f"configuration error: {exc}") from exc
        except ConnectorError as exc:
            raise CommandFailed(f"error: {exc}") from exc


class CommandFailed(click.ClickException):
    """The command could not do its job (exit code 1)."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True)


class ConfigProblem(CommandFailed):
    """The configuration is wrong (exit code 2)."""

    exit_code = 2


@click.group(cls=ConnectorGroup)
@click.version_option(__version__, prog_name="connector")
@click.option("--config-dir", envvar="CONNECTOR_CONFIG_DIR", default=None,
              help="Folder holding districts/<key>/*.yaml (default ./config).")
@click.option("--district", envvar="CONNECTOR_DISTRICT", default=None,
              help="District key; optional when only one district is configured.")
@click.option("--database-url", envvar="CONNECTOR_DATABASE_URL", default=None,
              help="SQLAlchemy URL; default is the embedded SQLite file under ./var.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, config_dir: str | None, district: str | None,
        database_url: str | None, verbose: int) -> None:
    """Mastery connector: CASE frameworks in, LMS and adaptive scores in, mastery out."""
    configure_logging(logging.WARNING - 10 * verbose)
    ctx.obj = make_context(config_dir, district, database_url)
    ctx.call_on_close(ctx.obj.close)


for command in commands.ALL:
    cli.add_command(command)


def main() -> None:
    cli()


__all__ = ["CliContext", "cli", "main"]


if __name__ == "__main__":
    main()
