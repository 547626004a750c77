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
    rule = fields.String(required=True, validate=validate.OneOf(RULES))
    k = fields.Integer(load_default=1, validate=validate.Range(min=1))
    points = fields.Dict(keys=fields.String(), values=fields.Float(), load_default=dict)
    points_required = fields.Float(load_default=0.0)
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
    frameworks = fields.Dict(keys=fields.String(), values=fields.Nested(RollupRuleSchema),
                             load_default=dict)
    competencies = fields.Dict(keys=fields.String(), values=fields.Nested(RollupRuleSchema),
                               load_default=dict)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RollupSettings:
        return RollupSettings(frameworks=data["frameworks"], competencies=data["competencies"])


class PaceSchema(_Strict):
    year_start = fields.String(load_default="08-15",
                               validate=validate.Regexp(r"^\d\d-\d\d$", error="write MM-DD"))
    school_year_days = fields.Integer(load_default=300, validate=validate.Range(min=1))
    expected_levels_per_year = fields.Float(load_default=1.0, validate=validate.Range(min=0.01))
    on_pace = fields.Float(load_default=1.0, validate=validate.Range(min=0.01))
    can_catch_up = fields.Float(load_default=0.7, validate=validate.Range(min=0.01))
    minimum_days = fields.Integer(load_default=28, validate=validate.Range(min=0))
    window_days = fields.Integer(load_default=42, validate=validate.Range(min=1))
    slowing_ratio = fields.Float(load_default=0.5, validate=validate.Range(min=0, max=1))
    several_domains = fields.Integer(load_default=2, validate=validate.Range(min=1))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> PaceRules:
        month, day = (int(part) for part in data.pop("year_start").split("-"))
        try:
            return PaceRules(year_start_month=month, year_start_day=day, **data)
        except (MasteryError, ValueError) as exc:
            raise ValidationError(getattr(exc, "message", str(exc))) from exc


class LevelSchema(_Strict):
    level = fields.String(required=True)
    competencies = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class DomainSchema(_Strict):
    key = fields.String(required=True)
    title = fields.String(required=True)
    graduation_level = fields.String(load_default=None)
    levels = fields.List(fields.Nested(LevelSchema), required=True, validate=validate.Length(min=1))

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
                            levels=tuple((lv["level"], tuple(lv["competencies"]))
                                         for lv in data["levels"]))


class CourseSchema(_Strict):
    course = fields.String(required=True)
    credits = fields.Float(load_default=1.0, validate=validate.Range(min=0))
    competencies = fields.List(fields.String(), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> CourseCredit:
        return CourseCredit(course=data["course"], credits=data["credits"],
                            competencies=tuple(data["competencies"]))


class PlacementCutSchema(_Strict):
    min_score = fields.Float(required=True)
    level = fields.String(required=True)


class PlacementSchema(_Strict):
    source = fields.String(required=True)
    item = fields.String(load_default="*")
    domain = fields.String(required=True)
    cuts = fields.List(fields.Nested(PlacementCutSchema), required=True,
                       validate=validate.Length(min=1))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> PlacementRule:
        return PlacementRule(data["source"], data["item"], data["domain"],
                             tuple(PlacementCut(c["min_score"], c["level"]) for c in data["cuts"]))


class ProgressSchema(_Strict):
    pace = fields.Nested(PaceSchema, load_default=lambda: PaceSchema().load({}))
    domains = fields.List(fields.Nested(DomainSchema), load_default=list)
    courses = fields.List(fields.Nested(CourseSchema), load_default=list)
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
