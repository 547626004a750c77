"""Entry point of the ``connector`` command.

Exit codes (docs/operations.md):

- 0: success, including runs with rejected rows;
- 1: a run or command failed as a whole;
- 2: usage or configuration errors, and a run, student or competency that does not exist;
- 3: the same job, push or scheduler is already running elsewhere (``--wait`` waits instead);
- 4: a run was interrupted by SIGTERM or SIGINT and recorded as ``interrupted``.

Commands are imported only when they run: ``connector --help`` and ``--version``
must answer at once, and every command pulls in SQLAlchemy, Flask or
ReportLab. The table below therefore carries each command's one-line help; a
test checks it against the commands themselves.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click

from connector import __version__

#: name -> (module, attribute, one-line help shown by ``connector --help``).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "config": ("connector.cli.commands", "config", "The district configuration."),
    "check": ("connector.cli.check", "check",
              "Try every source and destination: sign in and make one cheap read."),
    "db": ("connector.cli.commands", "db", "The database schema."),
    "framework": ("connector.cli.commands", "framework", "Competency frameworks (CASE)."),
    "sync": ("connector.cli.runs", "sync", "Run a sync job now."),
    "runs": ("connector.cli.runs", "runs", "Past runs: status, reasons, stages, rejections."),
    "scheduler": ("connector.cli.scheduler", "scheduler",
                  "Run the district's jobs on their schedules until stopped."),
    "worker": ("connector.cli.scheduler", "worker",
               "Run the jobs the schedulers send (celery backend) until stopped."),
    "exceptions": ("connector.cli.commands", "exceptions",
                   "Students a source could not match to the SIS roster, from each job's "
                   "latest run."),
    "identity": ("connector.cli.identity", "identity",
                 "Identity links: a source's id for a student, tied to the roster student "
                 "it means."),
    "mapping": ("connector.cli.commands", "mapping", "Alignments of source items to competencies."),
    "mastery": ("connector.cli.mastery", "mastery", "Mastery levels: calculate, explain, override."),
    "reports": ("connector.cli.reports", "reports",
                "Progress reports for teachers, principals and registrars."),
    "push": ("connector.cli.push", "push",
             "Preview, send, hold, approve and undo pushes to destinations."),
    "transcripts": ("connector.cli.transcripts", "transcripts",
                    "Proficiency transcripts: working copies, and official versions drafted and issued."),
    "profiles": ("connector.cli.profiles", "profiles",
                 "Vendor profiles for adaptive and diagnostic exports."),
    "sample": ("connector.cli.commands", "sample", "The fictional sample district."),
    "demo": ("connector.cli.commands", "demo",
             "Run every job of the sample district once and print a summary (make demo)."),
    "retention": ("connector.cli.retention", "retention",
                  "Remove vendor data past the district's retention settings (the scheduler "
                  "does it daily)."),
    "students": ("connector.cli.students", "students",
                 "A student's records: export them (records requests), purge them."),
    "audit": ("connector.cli.audit", "audit",
              "The changes people made: who, when, what, why, before and after."),
    "users": ("connector.cli.users", "users",
              "People who sign in: create, list, disable, enable, reset-password, grant, "
              "revoke."),
    "tokens": ("connector.cli.tokens", "tokens",
               "Machine tokens for the API: create (shown once), list, revoke."),
    "serve": ("connector.cli.commands", "serve",
              "Start the JSON API: reads, overrides, event intake, under gunicorn with a "
              "request timeout."),
}


class CommandFailed(click.ClickException):
    """The command could not do its job (exit code 1)."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True)


class ConfigProblem(CommandFailed):
    """The configuration is wrong, or what was asked for does not exist (exit code 2)."""

    exit_code = 2


class Busy(CommandFailed):
    """The same work is already running in another process (exit code 3)."""

    exit_code = 3


class Interrupted(CommandFailed):
    """Stopped by a signal (exit code 4)."""

    exit_code = 4


class ConnectorGroup(click.Group):
    """Loads commands when they run; turns our errors into sentences and exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _help = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, text) for name, (_m, _a, text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        from connector.errors import (
            BusyError,
            ConfigurationError,
            ConnectorError,
            NotFoundError,
        )
        from connector.sync.stop import RunInterrupted

        try:
            return super().invoke(ctx)
        except ConfigurationError as exc:
            raise ConfigProblem(f"configuration error: {exc}") from exc
        except NotFoundError as exc:
            raise ConfigProblem(f"not found: {exc}") from exc
        except BusyError as exc:
            raise Busy(f"busy: {exc}") from exc
        except ConnectorError as exc:
            raise CommandFailed(f"error: {exc}") from exc
        except RunInterrupted as exc:
            raise Interrupted(f"interrupted: {exc}") from exc


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
    from connector.cli.context import make_context
    from connector.logging_setup import configure_logging
    from connector.privacy import apply_umask

    apply_umask()  # before any file: the database, bundles, transcripts hold students' data
    configure_logging(logging.WARNING - 10 * verbose)
    ctx.obj = make_context(config_dir, district, database_url)
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    cli()


__all__ = ["cli", "main"]


if __name__ == "__main__":
    main()
