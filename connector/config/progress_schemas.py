"""Schemas for roll-ups, pace, domains and course credit in ``district.yaml``.

::

    rollups:
      frameworks: {math-ela: {rule: all_proficient}}
      competencies: {CR.MA.SP: {rule: k_of_n, k: 2}}
    progress:
      pace: {year_start: "08-15", expected_levels_per_year: 1.0, on_pace: 1.0, can_catch_up: 0.7}
      domains:
        - key: math
          title: Mathematics
          graduation_level: "8"
          levels:
            - {level: "6", competencies: [CR.MA.RP.1.*, CR.MA.EE.1.*]}
      courses:
        - {course: MA06, credits: 1.0}
"""

from __future__ import annotations

from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)

from connector.config.model import CourseCredit, DomainConfig, ProgressSettings, RollupSettings
from connector.errors import MasteryError
from connector.mastery.placement import PlacementCut, PlacementRule
from connector.mastery.progress import PaceRules
from connector.mastery.rollup import RULES, RollupRule


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class RollupRuleSchema(_Strict):
    #: all_proficient: the lowest child level (not yet until every child has one); k_of_n:
    #: the k-th highest child level; mean: the mean child level; points: see points.
    #: Exempt children are left out.
    rule = fields.String(required=True, validate=validate.OneOf(RULES))
    #: With k_of_n: the parent takes the k-th highest child level, so it is proficient once
    #: k children are; until k children have a level it reads not yet.
    k = fields.Integer(load_default=1, validate=validate.Range(min=1))
    #: With points: what each proficient child earns, by CASE identifier or code; a child
    #: not listed earns 1.
    points = fields.Dict(keys=fields.String(), values=fields.Float(), load_default=dict)
    #: With points (and then above 0): the total that makes the parent proficient; short of
    #: it, the parent reads not yet.
    points_required = fields.Float(load_default=0.0)
    #: With points: children (CASE identifier or code) that must be proficient whatever the
    #: total.
    required = fields.List(fields.String(), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RollupRule:
        try:
            return RollupRule(rule=data["rule"], k=data["k"], points=data["points"],
                              points_required=data["points_required"],
                              required=frozenset(data["required"]))
        except MasteryError as exc:
            raise ValidationError(exc.message) from exc


class RollupsSchema(_Strict):
    #: A rule for every parent in a framework, by framework key. The parents of a framework
    #: without one keep the level of their own evidence.
    frameworks = fields.Dict(keys=fields.String(), values=fields.Nested(RollupRuleSchema),
                             load_default=dict)
    #: A rule for one parent, by CASE identifier or code; it replaces its framework's rule.
    competencies = fields.Dict(keys=fields.String(), values=fields.Nested(RollupRuleSchema),
                               load_default=dict)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RollupSettings:
        return RollupSettings(frameworks=data["frameworks"], competencies=data["competencies"])


class PaceSchema(_Strict):
    #: The first day of the school year (MM-DD); pace counts the competencies that became
    #: proficient since then.
    year_start = fields.String(load_default="08-15",
                               validate=validate.Regexp(r"^\d\d-\d\d$", error="write MM-DD"))
    #: Calendar days from the first to the last day of the school year; the expected count
    #: grows evenly over them, then stays at a full year's.
    school_year_days = fields.Integer(load_default=300, validate=validate.Range(min=1))
    #: Levels a student is expected to complete in a school year. Expected by now: targets
    #: per level, times this, times the share of school_year_days gone.
    expected_levels_per_year = fields.Float(load_default=1.0, validate=validate.Range(min=0.01))
    #: Pace code 3 (on pace) when the targets mastered this year reach this share of the
    #: expected count; 1.0 is all of it.
    on_pace = fields.Float(load_default=1.0, validate=validate.Range(min=0.01))
    #: Code 2 (can catch up) at or above this share of the expected count, code 1 (needs
    #: support) below it. At most on_pace.
    can_catch_up = fields.Float(load_default=0.7, validate=validate.Range(min=0.01))
    #: Days into the school year before pace is judged; until then a domain reads "too early
    #: to tell".
    minimum_days = fields.Integer(load_default=28, validate=validate.Range(min=0))
    #: Days without a newly proficient competency before a student with evidence and work
    #: left is listed as stalled; slowing compares this window with the one before.
    window_days = fields.Integer(load_default=42, validate=validate.Range(min=1))
    #: Listed as slowing when the last window has fewer newly proficient competencies than
    #: this share of the window before (which needs at least 2).
    slowing_ratio = fields.Float(load_default=0.5, validate=validate.Range(min=0, max=1))
    #: A student needing support (code 1) in at least this many domains is listed on the
    #: exceptions report.
    several_domains = fields.Integer(load_default=2, validate=validate.Range(min=1))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> PaceRules:
        month, day = (int(part) for part in data.pop("year_start").split("-"))
        try:
            return PaceRules(year_start_month=month, year_start_day=day, **data)
        except (MasteryError, ValueError) as exc:
            raise ValidationError(getattr(exc, "message", str(exc))) from exc


class LevelSchema(_Strict):
    #: The level's name in reports ("6"); graduation_level and placement cuts use it.
    level = fields.String(required=True)
    #: The learning targets of this level: codes, CASE identifiers, or code patterns ending
    #: in * (CR.MA.RP.1.*). Each level must match an academic learning target.
    competencies = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class DomainSchema(_Strict):
    #: The domain's key in reports and placement rules.
    key = fields.String(required=True)
    #: The domain's name, as the content-area summary gives it.
    title = fields.String(required=True)
    #: The level that meets graduation in this domain, reached by mastery alone (a placement
    #: does not count). Empty: reports give no graduation status.
    graduation_level = fields.String(load_default=None)
    #: Lowest first. A level is reached when its targets, and those of every level below,
    #: are proficient.
    levels = fields.List(fields.Nested(LevelSchema), required=True, validate=validate.Length(min=1))
    #: The roster grades measured in this domain ("06", "09"), so that a high school's
    #: domains are not a middle schooler's. Empty: every student.
    grades = fields.List(fields.String(), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> DomainConfig:
        names = [lv["level"] for lv in data["levels"]]
        if len(set(names)) != len(names):
            raise ValidationError({"levels": [f"a level is listed twice: {names}"]})
        if data["graduation_level"] is not None and data["graduation_level"] not in names:
            raise ValidationError({"graduation_level": [
                f"{data['graduation_level']!r} is not one of the levels {names}"]})
        return DomainConfig(key=data["key"], title=data["title"],
                            graduation_level=data["graduation_level"],
                            grades=tuple(g.strip() for g in data["grades"]),
                            levels=tuple((lv["level"], tuple(lv["competencies"]))
                                         for lv in data["levels"]))


class CourseSchema(_Strict):
    #: The course's SIS sourcedId or course code.
    course = fields.String(required=True)
    #: The credits the credit report gives the course.
    credits = fields.Float(load_default=1.0, validate=validate.Range(min=0))
    #: The competencies the credit needs (codes or CASE identifiers, no patterns). Empty:
    #: every academic competency the course's classes assess.
    competencies = fields.List(fields.String(), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> CourseCredit:
        return CourseCredit(course=data["course"], credits=data["credits"],
                            competencies=tuple(data["competencies"]))


class PlacementCutSchema(_Strict):
    #: The lowest score, in the diagnostic's own units, that places at the level.
    min_score = fields.Float(required=True)
    #: A level of the domain; the levels below it count as reached by placement.
    level = fields.String(required=True)


class PlacementSchema(_Strict):
    #: The key of the source (sources.yaml) the diagnostic's scores come from.
    source = fields.String(required=True)
    #: The diagnostic's item id at that source, or a pattern such as Math* (case matters);
    #: the default takes every item.
    item = fields.String(load_default="*")
    #: The key of the progress domain it places students in.
    domain = fields.String(required=True)
    #: Cut scores; a score gets the level of the highest cut it reaches, and a score below
    #: every cut places nowhere.
    cuts = fields.List(fields.Nested(PlacementCutSchema), required=True,
                       validate=validate.Length(min=1))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> PlacementRule:
        return PlacementRule(data["source"], data["item"], data["domain"],
                             tuple(PlacementCut(c["min_score"], c["level"]) for c in data["cuts"]))


class ProgressSchema(_Strict):
    #: How pace codes and the exceptions report judge a student's progress.
    pace = fields.Nested(PaceSchema, load_default=lambda: PaceSchema().load({}))
    #: Content areas for academic levels and pace. Empty: one per top-level competency of
    #: each academic framework, with levels from the CASE educationLevel of its targets.
    domains = fields.List(fields.Nested(DomainSchema), load_default=list)
    #: Courses whose credit is earned by mastery. Listing any limits the credit report to
    #: them; empty: every course, at 1 credit.
    courses = fields.List(fields.Nested(CourseSchema), load_default=list)
    #: Diagnostics that set where a student starts in a domain; the latest result taken by
    #: the report date counts. It never counts as mastery.
    placement = fields.List(fields.Nested(PlacementSchema), load_default=list)

    @validates_schema
    def placement_levels(self, data: dict[str, Any], **_: Any) -> None:
        """A placement names a configured domain and levels that domain has."""
        domains = {d.key: [name for name, _ in d.levels] for d in data.get("domains", [])}
        for n, rule in enumerate(data.get("placement", [])):
            if not domains:
                continue  # domains come from the frameworks: checked when progress runs
            if rule.domain not in domains:
                raise ValidationError(f"placement[{n}]: no domain {rule.domain!r}; "
                                      f"domains: {sorted(domains)}", "placement")
            unknown = [c.level for c in rule.cuts if c.level not in domains[rule.domain]]
            if unknown:
                raise ValidationError(f"placement[{n}]: levels {unknown} are not levels of "
                                      f"domain {rule.domain!r} {domains[rule.domain]}",
                                      "placement")

    @validates("domains")
    def unique_keys(self, value: list[DomainConfig], **_: Any) -> None:
        keys = [d.key for d in value]
        if len(set(keys)) != len(keys):
            raise ValidationError(f"a domain key is used twice: {keys}")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ProgressSettings:
        return ProgressSettings(pace=data["pace"], domains=tuple(data["domains"]),
                                courses=tuple(data["courses"]),
                                placement=tuple(data["placement"]))
