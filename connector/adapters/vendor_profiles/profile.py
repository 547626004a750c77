"""Vendor profiles: what one adaptive or diagnostic product's export means, declared in YAML.

Most adaptive vendors no longer offer an API; their data reaches districts as
scheduled CSV exports whose columns and score units differ per vendor, and
sometimes per contract. A profile names the columns, says what a score means
(a percent, points, a 0-100 mastery ladder, words like "Familiar"), where the
vendor's own bands fall on the district's scale, and the DOK and evidence type
such evidence usually carries. A district adjusts a shipped profile by
overriding ``columns`` in its source config, or writes its own profile file.

Reading a row is a pure function here, so the same code serves the one-file
``adaptive_csv`` source and the ``file_drop`` inbox, and is tested without files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from connector.adapters.messages import sentences
from connector.adapters.values import parse_datetime, parse_float, required
from connector.domain.records import Score, ScoreStatus, SourceItem, StudentRef
from connector.errors import ConfigurationError, DataError

STUDENT_MATCH = ("sourced_id", "username", "email", "identifier")
SCORE_KINDS = ("percent", "points", "scale", "labels")
EVIDENCE_TYPES = ("adaptive_practice", "diagnostic", "common_assessment", "state_test",
                  "teacher_task", "performance_task")
#: Level roles a shipped profile's cut scores may name, so one file fits any district scale.
LEVEL_ROLES = ("lowest", "below", "proficient", "above", "highest")
#: Column roles; ``student``, ``skill``, ``score`` and ``date`` are required.
COLUMN_ROLES = ("student", "skill", "score", "date", "skill_name", "standard", "max_score",
                "record_id", "domain")
REQUIRED_ROLES = ("student", "skill", "score", "date")


@dataclass(frozen=True)
class ScoreMeaning:
    """How a vendor's score cell becomes a percent (0-100) or points out of a maximum.

    ``percent``: the cell is 0-100. ``points``: out of ``max`` or the max column.
    ``scale``: a scale score from ``min`` to ``max``, placed linearly between them.
    ``labels``: words (Khan's "Familiar") looked up in ``labels`` as percents.
    A blank cell is "not practised yet" when ``blank`` is ``skip``, else a rejection.
    """

    kind: str = "percent"
    max: float | None = None
    min: float = 0.0
    labels: Mapping[str, float] = field(default_factory=dict)
    blank: str = "reject"
    #: Cells that mean "no score" in this export (ALEKS writes "-"), treated like a blank.
    missing: tuple[str, ...] = ()
    #: Take scores above the top as the top (ST Math puzzle progress passes 100%).
    cap: bool = False


@dataclass(frozen=True)
class ProfileCut:
    """Percents at or above ``min_percent`` reach ``level``: a level role or a scale code."""

    min_percent: float
    level: str


@dataclass(frozen=True)
class VendorProfile:
    key: str
    vendor: str
    title: str
    columns: Mapping[str, str]
    score: ScoreMeaning
    evidence_type: str
    dok: int | None
    cuts: tuple[ProfileCut, ...]
    student_match: str = "sourced_id"
    date_format: str | None = None
    #: Values for roles the export has no column for (an i-Ready file holds one subject).
    fixed: Mapping[str, str] = field(default_factory=dict)
    #: The export has no date column; its date is the last YYYYMMDD in the file name.
    date_from_file_name: bool = False
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    item_kind: str = "skill"
    #: False when the vendor does not publish its export's column names (see ``notes``).
    columns_public: bool = False
    notes: str = ""

    @property
    def required_columns(self) -> list[str]:
        return [self.columns[role] for role in REQUIRED_ROLES if role in self.columns]

    def with_columns(self, overrides: Mapping[str, str]) -> VendorProfile:
        """The same profile reading differently named columns (a district's export variant)."""
        return replace(self, columns={**self.columns, **overrides})


# ---- reading a row ----------------------------------------------------------------


def read_row(profile: VendorProfile, values: Mapping[str, str], *, source: str,
             timezone: str, file_date: datetime | None = None) -> tuple[SourceItem, Score] | None:
    """One export row as a vendor item and a raw score; None for a row with nothing to say.

    Raises :class:`DataError` naming the column for a malformed cell. The score's
    key is the vendor's record id, or (student, skill, date): a daily export that
    repeats yesterday's unchanged row stages nothing, and a new practice date is
    new evidence.
    """
    cols = profile.columns

    def cell(role: str) -> str:
        column = cols.get(role)
        return values.get(column, "").strip() if column else profile.fixed.get(role, "")

    student = required(cell("student"), cols["student"])
    skill = required(cell("skill"), cols.get("skill", "skill"))
    raw = cell("score")
    if not raw or raw in profile.score.missing:
        if profile.score.blank == "skip":
            return None
        raise DataError(f"'{cols['score']}' is required", field=cols["score"])
    score, max_score = score_value(profile, raw, cell("max_score"))
    if "date" in cols:
        when = parse_datetime(cell("date"), cols["date"], timezone, profile.date_format)
        if when is None:
            raise DataError(f"'{cols['date']}' is required", field=cols["date"])
    elif file_date is None:
        raise DataError("the profile takes dates from the file name, and none was given",
                        field="date")
    else:
        when = file_date
    standard = cell("standard")
    domain = cell("domain")
    description = "; ".join(part for part in (
        f"Standard {standard}" if standard else "", f"Domain {domain}" if domain else "") if part)
    item = SourceItem(source_system=source, sourced_id=skill,
                      title=cell("skill_name") or skill, kind=profile.item_kind,
                      description=description, result_value_max=max_score)
    record = Score(
        source_system=source,
        sourced_id=cell("record_id") or f"{student}|{skill}|{when.isoformat()}",
        item_sourced_id=skill,
        student=StudentRef(profile.student_match, student),
        score=score,
        status=ScoreStatus.FULLY_GRADED.value,
        scored_at=when,
        max_score=max_score,
    )
    return item, record


_FILE_DATE = re.compile(r"(?<!\d)(20\d{2})-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?!\d)")


def date_in_file_name(name: str, timezone: str) -> datetime | None:
    """The last date (YYYYMMDD or YYYY-MM-DD) in a file name, as local midnight in UTC.

    Khan Academy names its download ``..._20260901_20260930.csv``: the period's end.

    >>> date_in_file_name("MasteryProgressStudent_20260901_20260930.csv", "UTC").date()
    datetime.date(2026, 9, 30)
    >>> date_in_file_name("skills.csv", "UTC") is None
    True
    """
    found = _FILE_DATE.findall(name)
    if not found:
        return None
    year, month, day = found[-1]
    try:
        return parse_datetime(f"{year}-{month}-{day}", "file name", timezone)
    except DataError:
        return None


def score_value(profile: VendorProfile, raw: str, max_cell: str = "") -> tuple[float, float | None]:
    """(score, maximum) in the units evidence uses: maximum None means a percent."""
    meaning = profile.score
    column = profile.columns["score"]
    if meaning.kind == "labels":
        wanted = raw.casefold()
        for label, percent in meaning.labels.items():
            if label.casefold() == wanted:
                return percent, None
        raise DataError(f"'{column}' has no meaning in profile {profile.key!r}: {raw!r}; "
                        f"understood: {sorted(meaning.labels)}", field=column)
    value = parse_float(raw.rstrip("%") if meaning.kind == "percent" else raw, column)
    assert value is not None  # raw is not blank
    if meaning.kind == "percent":
        _check_range(min(value, 100) if meaning.cap else value, 0, 100, column)
        return min(value, 100.0), None
    if meaning.kind == "scale":
        assert meaning.max is not None  # the schema requires it
        _check_range(value, meaning.min, meaning.max, column)
        return round((value - meaning.min) / (meaning.max - meaning.min) * 100, 6), None
    limit = parse_float(max_cell, profile.columns.get("max_score") or "max_score") or meaning.max
    if limit is None or limit <= 0:
        raise DataError(f"'{column}' is in points but the row has no positive maximum",
                        field=profile.columns.get("max_score") or column)
    _check_range(value, 0, limit, column)
    return value, limit


def _check_range(value: float, low: float, high: float, column: str) -> None:
    if not low <= value <= high:
        raise DataError(f"'{column}' must be between {low:g} and {high:g}: {value:g}",
                        field=column)


# ---- cut scores on a district scale -------------------------------------------------


def level_code(level: str, codes: Sequence[str], proficient: str) -> str:
    """A cut's level on a scale whose level codes are ``codes`` (lowest first).

    >>> level_code("below", ["1", "2", "3", "4"], "3")
    '2'
    >>> level_code("above", ["1", "2", "3"], "3")
    '3'
    """
    if level not in LEVEL_ROLES:
        return level
    at = codes.index(proficient)
    index = {"lowest": 0, "below": max(at - 1, 0), "proficient": at,
             "above": min(at + 1, len(codes) - 1), "highest": len(codes) - 1}[level]
    return codes[index]


def conversion_defaults(profile: VendorProfile, codes: Sequence[str],
                        proficient: str) -> dict[str, Any]:
    """The ``evidence`` and ``score_conversion`` a source takes from its profile."""
    return {
        "evidence": {"evidence_type": profile.evidence_type, "dok": profile.dok},
        "score_conversion": {"cuts": [
            {"min_percent": c.min_percent, "level": level_code(c.level, codes, proficient)}
            for c in profile.cuts]},
    }


# ---- loading -----------------------------------------------------------------------


class _ScoreSchema(Schema):
    kind = fields.String(load_default="percent", validate=validate.OneOf(SCORE_KINDS))
    max = fields.Float(load_default=None)
    min = fields.Float(load_default=0.0)
    labels = fields.Dict(keys=fields.String(), values=fields.Float(
        validate=validate.Range(min=0, max=100)), load_default=dict)
    blank = fields.String(load_default="reject", validate=validate.OneOf(["reject", "skip"]))
    missing = fields.List(fields.String(), load_default=list)
    cap = fields.Boolean(load_default=False)

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        if data["kind"] == "scale" and (data["max"] is None or data["max"] <= data["min"]):
            raise ValidationError("a 'scale' score needs 'max' above 'min'", "max")
        if data["kind"] == "labels" and not data["labels"]:
            raise ValidationError("a 'labels' score needs 'labels' (word: percent)", "labels")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ScoreMeaning:
        return ScoreMeaning(**{**data, "missing": tuple(data["missing"])})


class _CutSchema(Schema):
    min_percent = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    level = fields.String(required=True)


class ProfileSchema(Schema):
    profile = fields.String(required=True)
    vendor = fields.String(required=True)
    title = fields.String(required=True)
    columns = fields.Dict(keys=fields.String(validate=validate.OneOf(COLUMN_ROLES)),
                          values=fields.String(), required=True)
    score = fields.Nested(_ScoreSchema, load_default=lambda: _ScoreSchema().load({}))
    evidence_type = fields.String(required=True, validate=validate.OneOf(EVIDENCE_TYPES))
    dok = fields.Integer(load_default=None, validate=validate.Range(min=1, max=4))
    cuts = fields.List(fields.Nested(_CutSchema), required=True, validate=validate.Length(min=1))
    student_match = fields.String(load_default="sourced_id", validate=validate.OneOf(STUDENT_MATCH))
    date_format = fields.String(load_default=None)
    delimiter = fields.String(load_default=",", validate=validate.Length(equal=1))
    encoding = fields.String(load_default="utf-8-sig")
    item_kind = fields.String(load_default="skill")
    columns_public = fields.Boolean(load_default=False)
    notes = fields.String(load_default="")
    fixed = fields.Dict(keys=fields.String(validate=validate.OneOf(["skill", "skill_name",
                                                                    "standard", "domain"])),
                        values=fields.String(), load_default=dict)
    date_from_file_name = fields.Boolean(load_default=False)

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        given = {*data.get("columns", {}), *data.get("fixed", {})}
        if data.get("date_from_file_name"):
            given.add("date")
        missing = [r for r in REQUIRED_ROLES if r not in given]
        if missing:
            raise ValidationError(f"columns must name {missing} (or `fixed` the skill, or set "
                                  f"`date_from_file_name`)", "columns")
        points = data.get("score")
        if (isinstance(points, ScoreMeaning) and points.kind == "points" and points.max is None
                and "max_score" not in data["columns"]):
            raise ValidationError("a 'points' score needs score.max or a max_score column",
                                  "score")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> VendorProfile:
        return VendorProfile(
            key=data["profile"], vendor=data["vendor"], title=data["title"],
            columns=dict(data["columns"]), score=data["score"],
            evidence_type=data["evidence_type"], dok=data["dok"],
            cuts=tuple(ProfileCut(c["min_percent"], c["level"]) for c in data["cuts"]),
            student_match=data["student_match"], date_format=data["date_format"],
            delimiter=data["delimiter"], encoding=data["encoding"], item_kind=data["item_kind"],
            columns_public=data["columns_public"], notes=data["notes"].strip(),
            fixed=dict(data["fixed"]), date_from_file_name=data["date_from_file_name"])


def shipped_profiles() -> dict[str, VendorProfile]:
    """Every profile shipped with the connector, by key."""
    folder = resources.files("connector.adapters.vendor_profiles") / "shipped"
    out = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            profile = parse_profile(entry.read_text(encoding="utf-8"), entry.name)
            out[profile.key] = profile
    return out


def parse_profile(text: str, label: str) -> VendorProfile:
    """A profile from YAML text, or a ConfigurationError naming every problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"vendor profile {label} is not valid YAML: {exc}") from None
    try:
        profile: VendorProfile = ProfileSchema().load(data if isinstance(data, dict) else {})
    except ValidationError as exc:
        raise ConfigurationError(f"vendor profile {label}: {sentences(exc.messages)}") from None
    return profile


def find_profile(name: str, resolve: Any = Path) -> VendorProfile:
    """A shipped profile by key, or a district's own profile file by path."""
    if name.endswith((".yaml", ".yml")):
        path = resolve(name)
        if not path.is_file():
            raise ConfigurationError(f"vendor profile file not found: {path}")
        return parse_profile(path.read_text(encoding="utf-8"), path.name)
    shipped = shipped_profiles()
    if name not in shipped:
        raise ConfigurationError(f"unknown vendor profile {name!r}; shipped profiles: "
                                 f"{sorted(shipped)}, or give a path to a .yaml file")
    return shipped[name]

