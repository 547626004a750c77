"""``connector users``: the people who sign in, and their roles.

Passwords never go on the command line (other users of the machine can read a
process's arguments): a new or reset account gets a one-time password printed
once, or reads one from standard input with ``--password-stdin``.
"""

from __future__ import annotations

import sys

import click

from connector.cli.context import CliContext, pass_context
from connector.cli.output import echo_json, table
from connector.sync.push_runs import cli_actor

ROLE_HELP = ("district_admin, it, registrar, school_leader:<school>, teacher, "
             "viewer:<school>, student or guardian (a school is its roster org sourcedId).")


@click.group("users")
def users() -> None:
    """People who sign in: create, list, disable, enable, reset-password, grant, revoke."""


def _password(stdin: bool, sso_only: bool) -> tuple[str | None, bool]:
    """The password to set, and whether it was made here (and must be shown once)."""
    from connector.sync.accounts import new_password

    if sso_only:
        return None, False
    if stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return new_password(), True


def _show_once(email: str, password: str) -> None:
    click.echo(f"one-time password for {email}:")
    click.echo(password)
    click.echo("This is the only time it is shown: give it to the person, who should "
               "change it.", err=True)


def _role(value: str) -> tuple[str, str]:
    role, _, school = value.partition(":")
    return role.strip(), school.strip()


@users.command("create")
@click.argument("email")
@click.option("--name", default="", help="The person's name, as menus show it.")
@click.option("--role", "given_roles", multiple=True, help=f"A role to grant: {ROLE_HELP} "
                                                           "Repeat for more than one.")
@click.option("--roster-id", default=None,
              help="The person's sourcedId in the SIS roster: a teacher's classes, a "
                   "student's records and a guardian's students come from it (found by "
                   "email when left out).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--sso-only", is_flag=True,
              help="No password: the person signs in only by the district's single sign-on.")
@click.option("--by", default=None, help="Who is making it (default: the login name).")
@pass_context
def create(ctx: CliContext, email: str, name: str, given_roles: tuple[str, ...],
           roster_id: str | None, password_stdin: bool, sso_only: bool, by: str | None) -> None:
    """Make an account, with its roles; prints a one-time password unless told otherwise."""
    from connector.sync import accounts

    password, made = _password(password_stdin, sso_only)
    actor = by or cli_actor()
    with ctx.session() as session, session.begin():
        user = accounts.create_user(session, email, name=name, by=actor, password=password,
                                    roster_id=roster_id or "")
        for value in given_roles:
            role, school = _role(value)
            accounts.grant(session, user.email, role, school, by=actor, roster_id=roster_id)
        email = user.email
    click.echo(f"account {email} made" + (f" with {', '.join(given_roles)}" if given_roles
                                          else " (no roles yet: grant one)"))
    if made and password is not None:
        _show_once(email, password)


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def list_(ctx: CliContext, as_json: bool) -> None:
    """The district's accounts: roles, state, last sign-in (never a password)."""
    from connector.sync.accounts import list_users

    with ctx.session() as session:
        rows = list_users(session)
    if as_json:
        echo_json(rows)
        return
    click.echo(table(("email", "name", "roles", "active", "password", "last sign-in"),
                     [(r["email"], r["name"], ", ".join(r["roles"]) or "-",
                       "yes" if r["active"] else "no", "yes" if r["password"] else "sso",
                       r["last_sign_in_at"].isoformat(timespec="minutes")
                       if r["last_sign_in_at"] else "") for r in rows]))


def _set_active(ctx: CliContext, email: str, active: bool, reason: str, by: str | None) -> None:
    from connector.sync.accounts import set_active

    with ctx.session() as session, session.begin():
        user = set_active(session, email, active, by=by or cli_actor(), reason=reason)
        email = user.email
    click.echo(f"account {email} {'enabled' if active else 'disabled (signed out everywhere)'}")


@users.command("disable")
@click.argument("email")
@click.option("--reason", required=True, help="Why (kept in the audit entry).")
@click.option("--by", default=None, help="Who is doing it (default: the login name).")
@pass_context
def disable(ctx: CliContext, email: str, reason: str, by: str | None) -> None:
    """Stop an account: it cannot sign in, its sessions end and its own tokens stop."""
    _set_active(ctx, email, False, reason, by)


@users.command("enable")
@click.argument("email")
@click.option("--reason", default="", help="Why (kept in the audit entry).")
@click.option("--by", default=None, help="Who is doing it (default: the login name).")
@pass_context
def enable(ctx: CliContext, email: str, reason: str, by: str | None) -> None:
    """Let a disabled account sign in again."""
    _set_active(ctx, email, True, reason, by)


@users.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--by", default=None, help="Who is doing it (default: the login name).")
@pass_context
def reset_password(ctx: CliContext, email: str, password_stdin: bool, by: str | None) -> None:
    """Set a new password (one-time, printed once, unless read from stdin); signs out everywhere."""
    from connector.sync.accounts import reset_password as reset

    password, made = _password(password_stdin, False)
    assert password is not None
    with ctx.session() as session, session.begin():
        user = reset(session, email, password, by=by or cli_actor())
        email = user.email
    click.echo(f"password of {email} reset; its sessions ended")
    if made:
        _show_once(email, password)


@users.command("grant")
@click.argument("email")
@click.argument("role")
@click.option("--roster-id", default=None,
              help="For a teacher, student or guardian: the person's sourcedId in the roster "
                   "(found by email when left out).")
@click.option("--by", default=None, help="Who is granting it (default: the login name).")
@pass_context
def grant(ctx: CliContext, email: str, role: str, roster_id: str | None, by: str | None) -> None:
    """Grant a role: ROLE is district_admin, it, registrar, teacher, school_leader:<school>..."""
    from connector.sync import accounts

    name, school = _role(role)
    with ctx.session() as session, session.begin():
        user = accounts.grant(session, email, name, school, by=by or cli_actor(),
                              roster_id=roster_id)
        email, held = user.email, accounts.grants_of(session, user.id)
    click.echo(f"{email}: " + ", ".join(f"{g.role}:{g.school}" if g.school else g.role
                                        for g in held))


@users.command("revoke")
@click.argument("email")
@click.argument("role")
@click.option("--by", default=None, help="Who is revoking it (default: the login name).")
@pass_context
def revoke(ctx: CliContext, email: str, role: str, by: str | None) -> None:
    """Take a role away (ROLE as in grant)."""
    from connector.sync import accounts

    name, school = _role(role)
    with ctx.session() as session, session.begin():
        user = accounts.revoke(session, email, name, school, by=by or cli_actor())
        email, held = user.email, accounts.grants_of(session, user.id)
    click.echo(f"{email}: " + (", ".join(f"{g.role}:{g.school}" if g.school else g.role
                                         for g in held) or "no roles"))
