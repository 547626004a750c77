"""``connector mastery``: the calculator, explanations and teacher overrides."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from connector import ENGINE_VERSION
from connector.cli.context import CliContext, pass_context
from connector.cli.output import echo_json, table
from connector.domain.evidence import InputStatus
from connector.domain.scale import Level, ProficiencyScale
from connector.errors import ConfigurationError, NotFoundError
from connector.mastery.calculator import as_json, calculate
from connector.mastery.policy import MasteryPolicy
from connector.mastery.registry import METHODS
from connector.persistence import queries
from connector.sync.evidence_views import side_by_side
from connector.sync.overrides import (
    OVERRIDE_STATES,
    ImportResult,
    clear_override,
    import_overrides,
    override_history,
    set_override,
)

#: The scale the calculator uses when no district is configured: 1-4, proficient at 3.
DEFAULT_SCALE = ProficiencyScale(
    key="default-4", name="four-level proficiency scale", proficient_code="3",
    levels=(Level("1", "Beginning", 1), Level("2", "Developing", 2),
            Level("3", "Proficient", 3), Level("4", "Advanced", 4)))


@click.group("mastery")
def mastery() -> None:
    """Mastery levels: calculate, explain, override."""


def _params(pairs: tuple[str, ...]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"--param takes NAME=VALUE, e.g. weight=0.65: {pair!r}")
        parsed[name.strip()] = value
    return parsed


@mastery.command("calc")
@click.argument("method", type=click.Choice(sorted(METHODS)), metavar="METHOD")
@click.option("--evidence", required=True,
              help="Oldest first, comma-separated VALUE[:DOK[:TYPE]], e.g. 4:1:adaptive,3:3:teacher.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A method parameter (repeatable), e.g. weight=0.65, n=3, tie=none.")
@click.option("--target-dok", type=click.IntRange(1, 4), default=None,
              help="The competency's target DOK: applies the district's DOK gate.")
@click.option("--min-evidence", type=click.IntRange(1), default=1, show_default=True,
              help="Fewer pieces than this give insufficient evidence.")
@click.option("--json", "as_json_flag", is_flag=True, help="Print one JSON object.")
@pass_context
def mastery_calc(ctx: CliContext, method: str, evidence: str, params: tuple[str, ...],
                 target_dok: int | None, min_evidence: int, as_json_flag: bool) -> None:
    """What METHOD gives for this evidence under the district's scale and rules.

    METHOD is one of: mean, weighted_mean, median, mode, highest, most_recent, recent_n,
    top_k_mean, n_mastery, canvas_weighted_average, decaying_average, power_law,
    true_score, m_of_n.
    """
    try:
        settings = ctx.settings
        scale, base = settings.district.scale, settings.district.mastery.default
    except ConfigurationError:
        click.echo("note: no district configuration found; using a 1-4 scale, proficient at 3",
                   err=True)
        scale, base = DEFAULT_SCALE, MasteryPolicy()
    result = calculate(method, evidence, scale=scale, base=base, parameters=_params(params),
                       text_parameters=True, target_dok=target_dok, min_evidence=min_evidence,
                       engine_version=ENGINE_VERSION)
    if as_json_flag:
        echo_json(as_json(result))
        return
    shown = (f"{result.score:.2f} -> level {result.level_code} {result.level_label}"
             if result.level_code else result.level_label)
    click.echo(f"{method}: {shown}" + (" (proficient)" if result.proficient else ""))
    for step in result.steps:
        click.echo(f"  - {step.message}")


@mastery.command("explain")
@click.argument("sis_id")
@click.argument("competency")
@click.option("--json", "as_json_flag", is_flag=True, help="Print the result as JSON.")
@pass_context
def mastery_explain(ctx: CliContext, sis_id: str, competency: str, as_json_flag: bool) -> None:
    """How SIS_ID's level on COMPETENCY (CASE identifier or code) was reached."""
    scale = ctx.settings.district.scale
    with ctx.session() as session:
        comp = queries.find_competency(session, competency)
        found = queries.student_mastery(session, sis_id, scale, comp.id)
        if found is None:
            raise NotFoundError(f"no student with SIS id {sis_id!r}")
        if not found:
            raise NotFoundError(f"student {sis_id!r} has no record on {competency!r} yet: no evidence "
                            f"and no override")
        record = found[0]
    if as_json_flag:
        echo_json(record)
        return
    _print_record(record)


def _print_record(r: dict[str, Any]) -> None:
    click.echo(f"{r['student']}  {r['code']} {r['statement']}".rstrip())
    shown = f"{r['level_code']} {r['level_label']}" if r["level_code"] else r["level_label"]
    click.echo(f"level: {shown}" + (" (proficient)" if r["proficient"] else ""))
    if r["override"]:
        o = r["override"]
        computed = r["computed_level_code"] or r["computed_state"]
        click.echo(f"teacher override by {o['by']} on {o['at']:%Y-%m-%d}: {o['reason']}")
        click.echo(f"computed suggestion: {computed}"
                   + (f" ({r['computed_score']:.2f})" if r["computed_score"] is not None else ""))
    params = ", ".join(f"{k}={v}" for k, v in sorted(r["parameters"].items()))
    click.echo(f"method: {r['method']}({params}); policy {r['policy_version']}, engine "
               f"{r['engine_version']}; target DOK {r['target_dok'] or '-'}")
    click.echo("")
    for step in r["steps"]:
        click.echo(f"  - {step['message']}")
    if not r["inputs"]:
        return
    click.echo("")
    click.echo(table(("#", "assessed", "item", "value", "DOK", "type", "status"),
                     [(n, i["assessed_at"][:10], i["label"][:40], _shown_value(i),
                       i["dok"] or "", i["type"], i["status"] if i["counted_as"] is None
                       else f"{i['status']} as {i['counted_as']:g}")
                      for n, i in enumerate(r["inputs"], start=1)]))


#: Work not turned in has no value of its own: the 0 a gradebook puts on it is not a score.
_NO_VALUE = frozenset({InputStatus.MISSING.value, InputStatus.MISSING_AT_LOWEST.value})


def _shown_value(row: dict[str, Any]) -> str:
    return "-" if row["status"] in _NO_VALUE else f"{row['value']:g}"


@mastery.command("override")
@click.argument("sis_id")
@click.argument("competency")
@click.option("--level", default=None, help="The level the teacher credentials (code or label).")
@click.option("--state", type=click.Choice(OVERRIDE_STATES), default=None,
              help="A state instead of a level.")
@click.option("--clear", is_flag=True, help="Close the active override.")
@click.option("--reason", required=True, help="Why; shown with the record and kept in the audit.")
@click.option("--by", "by", required=True, help="The teacher (name, email or staff id).")
@click.option("--json", "as_json_flag", is_flag=True, help="Print the result as JSON.")
@pass_context
def mastery_override(ctx: CliContext, sis_id: str, competency: str, level: str | None,
                     state: str | None, clear: bool, reason: str, by: str,
                     as_json_flag: bool) -> None:
    """Set (or --clear) a teacher's override on SIS_ID's COMPETENCY; the record updates at once."""
    with ctx.session() as session, session.begin():
        if clear:
            if level or state:
                raise click.UsageError("--clear takes no --level or --state")
            outcome = clear_override(session, ctx.settings, sis_id, competency, reason=reason,
                                     by=by)
        else:
            outcome = set_override(session, ctx.settings, sis_id, competency, level=level,
                                   state=state, reason=reason, by=by)
    if as_json_flag:
        echo_json({"override_id": outcome.override_id, "record": outcome.record})
        return
    what = "cleared" if clear else f"override {outcome.override_id} set"
    click.echo(f"{what} for {sis_id} on {competency}")
    if outcome.record:
        _print_record(outcome.record)


@mastery.command("import-overrides")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def mastery_import_overrides(ctx: CliContext, file: Path) -> None:
    """Apply a CSV of teachers' overrides (student, competency, level or state, reason, by).

    Judgements brought over from another system; each is audited like one made by hand.
    Importing the same file again changes nothing. Rows that cannot be applied are listed
    with row, field and reason (exit 1); the rest are applied.
    """
    result = apply_override_file(ctx, file)
    if result.rejected:
        sys.exit(1)


def apply_override_file(ctx: CliContext, file: Path) -> ImportResult:
    """Import ``file`` and say what it did (``make demo`` uses this too)."""
    with ctx.session() as session, session.begin():
        result = import_overrides(session, ctx.settings, file)
    click.echo(f"{file.name}: {result.set} override(s) set, {result.unchanged} already in place, "
               f"{len(result.rejected)} set aside")
    for problem in result.rejected:
        click.echo(f"  {problem}", err=True)
    return result


@mastery.command("overrides")
@click.argument("sis_id")
@click.argument("competency")
@click.option("--json", "as_json_flag", is_flag=True, help="Print the result as JSON.")
@pass_context
def mastery_overrides(ctx: CliContext, sis_id: str, competency: str, as_json_flag: bool) -> None:
    """Every override made on SIS_ID's COMPETENCY, oldest first (the audit trail)."""
    with ctx.session() as session:
        history = override_history(session, sis_id, competency)
    if as_json_flag:
        echo_json(history)
        return
    click.echo(table(("id", "set", "by", "level/state", "computed", "reason", "cleared"),
                     [(h["id"], f"{h['at']:%Y-%m-%d %H:%M}", h["by"], h["level"] or h["state"],
                       h["computed_level"] or h["computed_state"] or "", h["reason"][:40],
                       f"{h['cleared_at']:%Y-%m-%d} by {h['cleared_by']}" if h["cleared_at"]
                       else "active") for h in history]))


@mastery.command("side-by-side")
@click.argument("sis_id")
@click.argument("competency")
@click.option("--json", "as_json_flag", is_flag=True, help="Print the result as JSON.")
@pass_context
def mastery_side_by_side(ctx: CliContext, sis_id: str, competency: str, as_json_flag: bool) -> None:
    """A student's adaptive and teacher evidence on one competency, apart."""
    with ctx.session() as session:
        view = side_by_side(session, ctx.settings, sis_id, competency)
    if as_json_flag:
        echo_json(view)
        return
    comp = view["competency"]
    click.echo(f"{comp['code']} (target DOK {comp['target_dok'] or '-'}): {comp['statement']}")
    for side in ("teacher", "adaptive"):
        part = view[side]
        click.echo(f"\n{side} evidence: {part['count']}, highest DOK "
                   f"{part['highest_dok'] or '-'}, highest level {part['highest_level'] or '-'}")
        click.echo(table(("date", "source", "item", "type", "DOK", "level"),
                         [(e["observed_at"].date(), e["source"], e["item"], e["type"],
                           e["dok"], e["label"]) for e in part["evidence"]]))
    alone = view["adaptive_alone"]
    click.echo(f"\nadaptive evidence alone can reach: {alone['label'] or 'nothing'} "
               f"({alone['why']})")
    record = view["record"]
    if record:
        click.echo(f"record: {record['label'] or record['state']}"
                   f"{' (held by the DOK gate)' if record['dok_gate'] == 'capped' else ''}")


@mastery.command("compare-policies")
@click.option("--method", default="", help="Another calculation method (see `mastery calc`).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter of the method (repeatable), e.g. weight=0.8.")
@click.option("--min-evidence", default="", help="Another minimum evidence count.")
@click.option("--dok-gate", type=click.Choice(["on", "off"]), default=None,
              help="Turn the DOK gate on or off.")
@click.option("--framework", default="",
              help="Change this framework's policy (its key) instead of the district's.")
@click.option("--crossings", is_flag=True,
              help="Also list each record that would cross into or out of Proficient.")
@click.option("--json", "as_json_flag", is_flag=True, help="Print one JSON object.")
@pass_context
def mastery_compare_policies(ctx: CliContext, method: str, params: tuple[str, ...],
                             min_evidence: str, dok_gate: str | None, framework: str,
                             crossings: bool, as_json_flag: bool) -> None:
    """What another policy would do to the records, computed over the district's evidence.

    Nothing is written: the records stay as they are until the policy is changed in
    district.yaml and the next sync recomputes.
    """
    from connector.sync.policy_lab import changes_from_text, lab_report, run_lab

    settings = ctx.settings
    changes = changes_from_text(settings, framework=framework, method=method,
                                parameters=_params(params), min_evidence=min_evidence,
                                dok_gate=dok_gate or "")
    with ctx.session() as session:
        report = lab_report(run_lab(session, settings, changes, framework), settings,
                            crossings=None if crossings else 0)
    if as_json_flag:
        echo_json(report)
        return
    total = report["total"]
    click.echo(f"Changing {report['scope']}: {', '.join(report['changes'])}")
    click.echo(f"  {total['compared']} records compared; {total['changed']} would change level "
               f"({total['raised']} up, {total['lowered']} down)")
    click.echo(f"  {total['into_proficient']} would become proficient, "
               f"{total['out_of_proficient']} would no longer be")
    click.echo(f"  {report['kept_by_override']} are held by a teacher's override and stay")
    click.echo(f"  {report['crossing_count']} records would cross Proficient"
               + ("" if crossings else " (--crossings lists them)"))
    click.echo(table(["competency", "compared", "changed", "into", "out of"],
                     [[r["competency"], r["compared"], r["changed"], r["into_proficient"],
                       r["out_of_proficient"]] for r in report["by_competency"] if r["changed"]]))
    click.echo(table(["school", "compared", "changed", "into", "out of"],
                     [[r["school"], r["compared"], r["changed"], r["into_proficient"],
                       r["out_of_proficient"]] for r in report["by_school"]]))
    if crossings:
        click.echo(table(["student", "competency", "now", "would be"],
                         [[c["student"], c["competency"], c["now"], c["would_be"]]
                          for c in report["crossings"]]))
