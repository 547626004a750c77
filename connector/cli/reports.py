"""``connector reports``: exceptions, pace, snapshots, summaries, credit, DOK, work habits."""

from __future__ import annotations

from datetime import date

import click

from connector.cli.context import CliContext, pass_context
from connector.cli.output import echo_json, table
from connector.mastery.progress import DomainPace, report_day
from connector.sync.evidence_views import dok_exposure, work_habits
from connector.sync.progress import (
    content_summary,
    credit_report,
    progress,
    time_to_proficiency,
)
from connector.transcripts.service import district_today


@click.group("reports")
def reports() -> None:
    """Progress reports for teachers, principals and registrars."""


def as_of_day(ctx: CliContext, given: str | None) -> date:
    """The ``--as-of`` day given, or today in the district (reports and transcripts)."""
    if not given:
        return district_today(ctx.settings)
    try:
        return report_day(given)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None


AS_OF = click.option("--as-of", "as_of", default=None,
                     help="Report as of this date (YYYY-MM-DD); default today in the district.")


@reports.command("exceptions")
@AS_OF
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def reports_exceptions(ctx: CliContext, as_of: str | None, as_json: bool) -> None:
    """Students who are stalled, slowing, or need support in several domains."""
    day = as_of_day(ctx, as_of)
    with ctx.session() as session:
        rows = [p for p in progress(session, ctx.settings, day) if p.reasons]
    if as_json:
        echo_json({"as_of": day, "students": [p.as_dict() for p in rows]})
        return
    click.echo(table(("student", "name", "grade", "why"),
                     [(p.sis_id, p.name, p.grade, "; ".join(p.reasons)) for p in rows]))
    click.echo(f"{len(rows)} student(s) need attention as of {day}")


@reports.command("pace")
@AS_OF
@click.option("--student", "students", multiple=True, help="SIS id (repeatable); default all.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def reports_pace(ctx: CliContext, as_of: str | None, students: tuple[str, ...],
                 as_json: bool) -> None:
    """Academic level and pace per domain (3 on pace, 2 can catch up, 1 needs support)."""
    day = as_of_day(ctx, as_of)
    with ctx.session() as session:
        rows = progress(session, ctx.settings, day, list(students) or None)
    if as_json:
        echo_json({"as_of": day, "students": [p.as_dict() for p in rows]})
        return
    click.echo(table(
        ("student", "grade", "domain", "level", "working on", "mastered", "this year",
         "expected", "pace"),
        [(p.sis_id, p.grade, d.domain, _level(d), d.working_level or "-",
          f"{d.mastered}/{d.total}", d.mastered_this_year, d.expected_by_now,
          f"{d.code} {d.label}" if d.code else d.label)
         for p in rows for d in p.domains]))


def _level(pace: DomainPace) -> str:
    """The academic level, marked when a diagnostic placement, not mastery, sets it."""
    if pace.level_basis == "placement" and pace.placement is not None:
        return (f"{pace.academic_level} (placed at {pace.placement.level} by "
                f"{pace.placement.assessment}, {pace.placement.placed_on})")
    return pace.academic_level or "-"


@reports.command("snapshot")
@click.argument("sis_id")
@AS_OF
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def reports_snapshot(ctx: CliContext, sis_id: str, as_of: str | None, as_json: bool) -> None:
    """A student's performance snapshot: the date each level was reached, per domain."""
    day = as_of_day(ctx, as_of)
    with ctx.session() as session:
        (row,) = progress(session, ctx.settings, day, [sis_id])
    if as_json:
        echo_json({"as_of": day, **row.as_dict()})
        return
    names = sorted({n for d in row.domains for n, _ in d.levels})
    click.echo(f"{row.sis_id}  grade {row.grade}  as of {day}")
    click.echo(table(("domain", *names, "graduation"),
                     [(d.domain, *(_cell(d.levels, n) for n in names),
                       "-" if d.graduation_met is None else "met" if d.graduation_met else "not yet")
                      for d in row.domains]))


def _cell(levels: tuple[tuple[str, object], ...], name: str) -> str:
    when = dict(levels).get(name, "")
    return when.date().isoformat() if hasattr(when, "date") else ("" if when == "" else "-")


@reports.command("summary")
@AS_OF
@click.option("--student", "students", multiple=True, help="SIS id (repeatable); default all.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def reports_summary(ctx: CliContext, as_of: str | None, students: tuple[str, ...],
                    as_json: bool) -> None:
    """Content-area summary: targets at each level or state per domain, and graduation status."""
    day = as_of_day(ctx, as_of)
    with ctx.session() as session:
        rows = content_summary(session, ctx.settings, day, list(students) or None)
    if as_json:
        echo_json({"as_of": day, "rows": rows})
        return
    click.echo(table(("student", "domain", "level", "proficient", "by level or state",
                      "graduation"),
                     [(r["student"], r["domain"], r["academic_level"] or "-",
                       f"{r['proficient']}/{r['targets']}",
                       ", ".join(f"{k}: {v}" for k, v in r["counts"].items()),
                       "-" if r["graduation_met"] is None else
                       "met" if r["graduation_met"] else "not yet") for r in rows]))


@reports.command("credit")
@click.option("--student", "students", multiple=True, help="SIS id (repeatable); default all.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def reports_credit(ctx: CliContext, students: tuple[str, ...], as_json: bool) -> None:
    """Course credit earned by mastering each course's competencies, with the date."""
    with ctx.session() as session:
        rows = credit_report(session, ctx.settings, list(students) or None)
    if as_json:
        echo_json(rows)
        return
    click.echo(table(("student", "course", "credits", "earned", "on", "missing"),
                     [(r["student"], r["course"], f"{r['credits']:g}",
                       "yes" if r["earned"] else "no",
                       r["earned_on"].date().isoformat() if r["earned_on"] else "",
                       f"{r['missing']} of {r['required']}") for r in rows]))


@reports.command("time-to-proficiency")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def reports_time(ctx: CliContext, as_json: bool) -> None:
    """Per competency: students proficient and the days from first evidence to proficiency."""
    with ctx.session() as session:
        rows = time_to_proficiency(session)
    if as_json:
        echo_json(rows)
        return
    click.echo(table(("competency", "proficient", "median days", "mean days"),
                     [(r["competency"], r["proficient"], r["median_days"], r["mean_days"])
                      for r in rows]))


@reports.command("dok-exposure")
@click.option("--by", type=click.Choice(["school", "class"]), default="school", show_default=True,
              help="One row per school, or per class.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def reports_dok_exposure(ctx: CliContext, by: str, as_json: bool) -> None:
    """The share of evidence at each DOK level, per school or class and source."""
    with ctx.session() as session:
        rows = dok_exposure(session, ctx.settings, by)
    if as_json:
        echo_json({"by": by, "rows": rows})
        return
    click.echo(table((by, "source", "kind", "evidence", "DOK 1", "DOK 2", "DOK 3", "DOK 4", "none"),
                     [(r["title"] or r[by], r["source"], r["kind"], r["total"],
                       *(f"{r['share'][k]:.0%}" for k in ("1", "2", "3", "4", "unknown")))
                      for r in rows]))


@reports.command("work-habits")
@click.option("--by", type=click.Choice(["student", "class"]), default="student",
              show_default=True, help="One row per student, or per class.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def reports_work_habits(ctx: CliContext, by: str, as_json: bool) -> None:
    """Work not turned in and work turned in late, per student or class: never a level."""
    with ctx.session() as session:
        rows = work_habits(session, by)
    if as_json:
        echo_json({"by": by, "rows": rows})
        return
    if by == "class":
        click.echo(table(("class", "title", "missing", "late", "students"),
                         [(r["class"], r["title"], r["missing"], r["late"], r["students"])
                          for r in rows]))
    else:
        click.echo(table(("student", "name", "grade", "missing", "late"),
                         [(r["student"], r["name"], r["grade"], r["missing"], r["late"])
                          for r in rows]))
    click.echo(f"{sum(r['missing'] for r in rows)} piece(s) of work not turned in, "
               f"{sum(r['late'] for r in rows)} turned in late")
