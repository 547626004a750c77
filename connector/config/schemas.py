"""Marshmallow schemas for everything a district writes in YAML.

Each schema loads into the frozen objects of :mod:`connector.config.model`, so
validation happens once, at the edge, and errors carry the key path.
"""

from __future__ import annotations

import difflib
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)

from connector.adapters.options import SecretRef
from connector.config.cron import check_cron
from connector.config.model import (
    DestinationConfig,
    DistrictConfig,
    FrameworkSource,
    GpaRow,
    JobConfig,
    MasterySettings,
    SourceConfig,
    TranscriptSettings,
)
from connector.config.operations_schemas import AlertsSchema, HoldSchema, RetentionSchema
from connector.config.progress_schemas import ProgressSchema, RollupsSchema
from connector.domain.evidence import EvidenceType
from connector.domain.framework import FrameworkKind
from connector.domain.scale import DEFAULT_STATE_LABELS, Level, ProficiencyScale
from connector.errors import ConfigurationError, MasteryError
from connector.frameworks.dok import DEFAULT_DOK_PATTERNS, compile_patterns
from connector.mapping.alignment import EvidenceDefaults
from connector.mapping.normalise import CutScore, ScoreConversion
from connector.mastery.policy import MISSING_WORK_RULES, MasteryPolicy

KEY = validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,63}$", error="use lowercase letters, digits, - or _")
EVIDENCE_TYPES = [t.value for t in EvidenceType]


class Strict(Schema):
    class Meta:
        unknown = RAISE


class LevelSchema(Strict):
    code = fields.String(required=True)
    label = fields.String(required=True)
    value = fields.Float(required=True)
    description = fields.String(load_default="")


class ScaleSchema(Strict):
    key = fields.String(required=True, validate=KEY)
    name = fields.String(required=True)
    version = fields.String(load_default="1")
    proficient = fields.String(required=True)
    levels = fields.List(fields.Nested(LevelSchema), required=True, validate=validate.Length(min=2))
    states = fields.Dict(keys=fields.String(validate=validate.OneOf(list(DEFAULT_STATE_LABELS))),
                         values=fields.String(), load_default=dict)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ProficiencyScale:
        try:
            return ProficiencyScale(
                key=data["key"],
                name=data["name"],
                version=data["version"],
                levels=tuple(Level(**lv) for lv in data["levels"]),
                proficient_code=data["proficient"],
                state_labels={**DEFAULT_STATE_LABELS, **data["states"]},
            )
        except ConfigurationError as exc:
            raise ValidationError(exc.message) from exc


class DokGateSchema(Strict):
    enabled = fields.Boolean()
    qualifying_evidence_types = fields.List(fields.String(validate=validate.OneOf(EVIDENCE_TYPES)))


class AdaptiveSchema(Strict):
    treatment = fields.String(validate=validate.OneOf(["count", "cap", "exclude"]))
    max_level = fields.String()
    types = fields.List(fields.String(validate=validate.OneOf(EVIDENCE_TYPES)))


class PolicyChangesSchema(Strict):
    """Policy settings as written in YAML; loads into the changes they make to a policy.

    The district's policy starts from the engine's defaults; framework and competency
    overrides start from the policy above them. Each names only what it changes.
    """

    method = fields.String()
    parameters = fields.Dict(keys=fields.String(), values=fields.Raw())
    min_evidence = fields.Integer(validate=validate.Range(min=1))
    recency_days = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    attempts = fields.String(validate=validate.OneOf(["all", "supersede"]))
    dok_gate = fields.Nested(DokGateSchema)
    adaptive = fields.Nested(AdaptiveSchema)
    missing_work = fields.String(validate=validate.OneOf(MISSING_WORK_RULES))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        changes = {k: v for k, v in data.items() if k not in ("dok_gate", "adaptive")}
        gate = data.get("dok_gate", {})
        if "enabled" in gate:
            changes["dok_gate"] = gate["enabled"]
        if "qualifying_evidence_types" in gate:
            changes["qualifying_evidence_types"] = frozenset(gate["qualifying_evidence_types"])
        adaptive = data.get("adaptive", {})
        for key, name in (("treatment", "adaptive"), ("max_level", "adaptive_max_level"),
                          ("types", "adaptive_types")):
            if key in adaptive:
                changes[name] = frozenset(adaptive[key]) if key == "types" else adaptive[key]
        return changes


def apply_policy(base: MasteryPolicy, changes: dict[str, Any]) -> MasteryPolicy:
    """``base`` with ``changes``; a bad combination becomes a validation error at its key."""
    try:
        return base.merged(changes)
    except MasteryError as exc:
        raise ValidationError(exc.message, str(exc.context.get("field", "_schema"))) from exc


class MasterySchema(PolicyChangesSchema):
    method = fields.String(required=True)
    framework_overrides = fields.Dict(
        keys=fields.String(), values=fields.Nested(PolicyChangesSchema), load_default=dict
    )
    competency_overrides = fields.Dict(
        keys=fields.String(), values=fields.Nested(PolicyChangesSchema), load_default=dict
    )

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> MasterySettings:
        frameworks = data.pop("framework_overrides")
        competencies = data.pop("competency_overrides")
        default = apply_policy(MasteryPolicy(), super().make(data, **kwargs))
        errors: dict[str, Any] = {}
        resolved = {}
        for key, changes in frameworks.items():
            try:
                resolved[key] = apply_policy(default, changes)
            except ValidationError as exc:
                errors.setdefault("framework_overrides", {})[key] = exc.messages
        for key, changes in competencies.items():
            try:  # checked against the district policy; applied later to the framework's
                apply_policy(default, changes)
            except ValidationError as exc:
                errors.setdefault("competency_overrides", {})[key] = exc.messages
        if errors:
            raise ValidationError(errors)
        return MasterySettings(default=default, overrides=resolved, competency_changes=competencies)


class FrameworkSourceSchema(Strict):
    key = fields.String(required=True, validate=KEY)
    location = fields.String(required=True)
    kind = fields.String(load_default="academic",
                         validate=validate.OneOf([k.value for k in FrameworkKind]))
    token = SecretRef(load_default=None)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> FrameworkSource:
        return FrameworkSource(**data)


class GpaRowSchema(Strict):
    level = fields.String(required=True)
    gpa = fields.Float(required=True, validate=validate.Range(min=0, max=5))


class TranscriptSchema(Strict):
    school_profile = fields.String(load_default="")
    graduation_requirements = fields.String(load_default="")
    habits_note = fields.String(load_default="")
    signatory_name = fields.String(load_default="")
    signatory_title = fields.String(load_default="")
    contact = fields.String(load_default="")
    gpa_translation = fields.List(fields.Nested(GpaRowSchema), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> TranscriptSettings:
        rows = tuple(GpaRow(r["level"], r["gpa"]) for r in data.pop("gpa_translation"))
        return TranscriptSettings(gpa_translation=rows, **data)


def check_timezone(value: str) -> None:
    """An IANA time zone name (America/Denver), the names every operating system ships."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        hint = difflib.get_close_matches(value, sorted(available_timezones()), n=1)
        also = f"; did you mean {hint[0]!r}?" if hint else ""
        raise ValidationError(f"{value!r} is not an IANA time zone name such as "
                              f"'America/Denver'{also}") from None


class DistrictInfoSchema(Strict):
    key = fields.String(required=True, validate=KEY)
    name = fields.String(required=True)
    timezone = fields.String(load_default="UTC", validate=check_timezone)
    api_token = SecretRef(load_default=None)
    api_write_token = SecretRef(load_default=None)


class DistrictFileSchema(Strict):
    district = fields.Nested(DistrictInfoSchema, required=True)
    scale = fields.Nested(ScaleSchema, required=True)
    mastery = fields.Nested(MasterySchema, required=True)
    frameworks = fields.List(fields.Nested(FrameworkSourceSchema), load_default=list)
    dok_patterns = fields.List(fields.String(), load_default=lambda: list(DEFAULT_DOK_PATTERNS))
    transcript = fields.Nested(TranscriptSchema, load_default=lambda: TranscriptSchema().load({}))
    rollups = fields.Nested(RollupsSchema, load_default=lambda: RollupsSchema().load({}))
    progress = fields.Nested(ProgressSchema, load_default=lambda: ProgressSchema().load({}))
    alerts = fields.Nested(AlertsSchema, load_default=lambda: AlertsSchema().load({}))
    retention = fields.Nested(RetentionSchema, load_default=lambda: RetentionSchema().load({}))

    @validates("dok_patterns")
    def check_patterns(self, value: list[str], **_: Any) -> None:
        try:
            compile_patterns(value)
        except (ValueError, Exception) as exc:  # re.error is a ValueError subclass
            raise ValidationError(str(exc)) from exc

    @validates_schema
    def check_cross_refs(self, data: dict[str, Any], **_: Any) -> None:
        scale: ProficiencyScale = data["scale"]
        for index, row in enumerate(data["transcript"].gpa_translation):
            if row.level_code not in {lv.code for lv in scale.levels}:
                raise ValidationError(
                    {"transcript": {"gpa_translation": {index: {"level": [
                        f"{row.level_code!r} is not a level of scale {scale.key!r}"]}}}}
                )
        keys = [f.key for f in data["frameworks"]]
        for key in set(keys):
            if keys.count(key) > 1:
                raise ValidationError({"frameworks": [f"framework key {key!r} is listed twice"]})
        for key in data["rollups"].frameworks:
            if key not in keys:
                raise ValidationError({"rollups": {"frameworks": {key: [
                    f"no framework with key {key!r} is configured; known: {sorted(keys)}"]}}})
        for key in data["mastery"].overrides:
            if key not in keys:
                raise ValidationError({"mastery": {"framework_overrides": {key: [
                    f"no framework with key {key!r} is configured; known: {sorted(keys)}"]}}})
        levels = {lv.code for lv in scale.levels}
        for where, policy in data["mastery"].all_policies():
            cap = policy.adaptive_max_level
            if cap is not None and cap not in levels:
                raise ValidationError({"mastery": {where: [
                    f"adaptive max_level {cap!r} is not a level of scale {scale.key!r}; "
                    f"levels: {sorted(levels)}"]}})

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> DistrictConfig:
        info = data["district"]
        return DistrictConfig(
            key=info["key"],
            name=info["name"],
            timezone=info["timezone"],
            api_token=info["api_token"],
            api_write_token=info["api_write_token"],
            scale=data["scale"],
            mastery=data["mastery"],
            frameworks=tuple(data["frameworks"]),
            dok_patterns=tuple(data["dok_patterns"]),
            transcript=data["transcript"],
            rollups=data["rollups"],
            progress=data["progress"],
            alerts=data["alerts"],
            retention=data["retention"],
        )


class CategoryEvidenceSchema(Strict):
    evidence_type = fields.String(load_default=None, validate=validate.OneOf(EVIDENCE_TYPES))
    dok = fields.Integer(load_default=None, validate=validate.Range(min=1, max=4))


class EvidenceDefaultsSchema(Strict):
    evidence_type = fields.String(required=True, validate=validate.OneOf(EVIDENCE_TYPES))
    dok = fields.Integer(load_default=None, validate=validate.Range(min=1, max=4))
    by_category = fields.Dict(keys=fields.String(), values=fields.Nested(CategoryEvidenceSchema),
                              load_default=dict)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> EvidenceDefaults:
        return EvidenceDefaults(
            evidence_type=data["evidence_type"],
            dok=data["dok"],
            by_category={k: (v["evidence_type"], v["dok"]) for k, v in data["by_category"].items()},
        )


class CutSchema(Strict):
    min_percent = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    level = fields.String(required=True)


class ConversionSchema(Strict):
    cuts = fields.List(fields.Nested(CutSchema), required=True, validate=validate.Length(min=1))
    scale_scored_max = fields.Float(load_default=None)
    text_levels = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    extra_credit = fields.String(load_default="reject",
                                 validate=validate.OneOf(["reject", "full_marks"]))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ScoreConversion:
        return ScoreConversion(
            cuts=tuple(CutScore(c["min_percent"], c["level"]) for c in data["cuts"]),
            scale_scored_max=data["scale_scored_max"],
            text_levels=dict(data["text_levels"]),
            extra_credit=data["extra_credit"],
        )


class SourceSchema(Schema):
    """Common source fields; everything else is the adapter's own options."""

    class Meta:
        unknown = EXCLUDE

    key = fields.String(required=True, validate=KEY)
    kind = fields.String(required=True)
    name = fields.String(load_default="")
    evidence = fields.Nested(EvidenceDefaultsSchema, required=True)
    score_conversion = fields.Nested(ConversionSchema, required=True)


class DestinationSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    key = fields.String(required=True, validate=KEY)
    kind = fields.String(required=True)
    name = fields.String(load_default="")
    hold = fields.Nested(HoldSchema, load_default=lambda: HoldSchema().load({}))


class JobSchema(Strict):
    key = fields.String(required=True, validate=KEY)
    kind = fields.String(load_default="sync", validate=validate.OneOf(["sync", "transcripts"]))
    schedule = fields.String(load_default=None)
    frameworks = fields.List(fields.String(), load_default=list)
    sources = fields.List(fields.String(), load_default=list)
    destinations = fields.List(fields.String(), load_default=list)
    options = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)
    catch_up_hours = fields.Float(load_default=12.0, validate=validate.Range(min=0, max=24 * 31))
    stale_after_hours = fields.Float(load_default=None, allow_none=True,
                                     validate=validate.Range(min=0.1))

    @validates("schedule")
    def check_schedule(self, value: str | None, **_: Any) -> None:
        check_cron(value)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> JobConfig:
        return JobConfig(
            key=data["key"],
            kind=data["kind"],
            schedule=data["schedule"],
            frameworks=tuple(data["frameworks"]),
            sources=tuple(data["sources"]),
            destinations=tuple(data["destinations"]),
            options=data["options"],
            catch_up_hours=data["catch_up_hours"],
            stale_after_hours=data["stale_after_hours"],
        )


def make_source(common: dict[str, Any], options: dict[str, Any]) -> SourceConfig:
    return SourceConfig(
        key=common["key"],
        kind=common["kind"],
        name=common["name"] or common["key"],
        options=options,
        evidence=common["evidence"],
        conversion=common["score_conversion"],
    )


def make_destination(common: dict[str, Any], options: dict[str, Any]) -> DestinationConfig:
    return DestinationConfig(
        key=common["key"], kind=common["kind"], name=common["name"] or common["key"],
        options=options, hold=common["hold"],
    )
