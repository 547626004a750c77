"""A vendor's skill report, read through a declarative column map.

Adaptive vendors export one row per student per skill (IXL's "SmartScore" by
skill, for example), each with their own column names and score units. The
district's config says which column is which; every row becomes a raw score on
a vendor "skill" item, and the skill becomes a source item to be aligned by the
crosswalk like any assignment.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from connector.adapters.base import Envelope, SourceAdapter
from connector.adapters.csvfiles import files_digest
from connector.adapters.options import PathOption
from connector.adapters.vendor_profiles.export import read_export
from connector.adapters.vendor_profiles.profile import ScoreMeaning, VendorProfile
from connector.errors import FatalSourceError, Rejection

STUDENT_MATCH = ["sourced_id", "username", "email", "identifier"]


class ColumnsSchema(Schema):
    #: The header of the column naming the student (as ``student_match`` says).
    student = fields.String(required=True)
    #: The column with the vendor's skill id; each skill becomes an item to align.
    skill = fields.String(required=True)
    #: The column with the score (as ``score_kind`` says).
    score = fields.String(required=True)
    #: The column with the date the skill was last practised.
    date = fields.String(required=True)
    #: The column with the skill's name, shown as the item's title.
    skill_name = fields.String(load_default=None)
    #: The column with each row's maximum score, for ``score_kind: points``.
    max_score = fields.String(load_default=None)
    #: The column with the vendor's own id for the row; without it a row is keyed by
    #: student, skill and date.
    id = fields.String(load_default=None)


class AdaptiveCsvOptions(Schema):
    #: The export file, relative to the district's folder.
    path = PathOption(kind="file", required=True)
    #: The file's text encoding; ``utf-8-sig`` also reads UTF-8 with a byte-order mark.
    encoding = fields.String(load_default="utf-8-sig")
    #: Which column holds what: header names as they appear in the export.
    columns = fields.Nested(ColumnsSchema, required=True)
    #: How the student column names the student: the SIS ``sourced_id``, ``username``,
    #: ``email`` or state ``identifier``, as the roster has it.
    student_match = fields.String(load_default="sourced_id", validate=validate.OneOf(STUDENT_MATCH))
    #: ``percent`` (0-100) or ``points`` (out of ``max_score`` or the max-score column).
    score_kind = fields.String(load_default="percent", validate=validate.OneOf(["percent", "points"]))
    #: The maximum score for ``score_kind: points`` when the export has no column for it.
    max_score = fields.Float(load_default=None)
    #: A ``strptime`` format for the date column (``%m/%d/%Y``); empty reads ISO 8601 dates.
    date_format = fields.String(load_default=None)
    #: The kind given to the export's items (``skill``; ``diagnostic`` for placement tests).
    item_kind = fields.String(load_default="skill")

    @validates_schema
    def check_points(self, data: dict[str, Any], **_: Any) -> None:
        if data["score_kind"] == "points" and not (data["max_score"] or data["columns"]["max_score"]):
            raise ValidationError("score_kind 'points' needs 'max_score' or a 'columns.max_score'",
                                  "max_score")


@dataclass(frozen=True, kw_only=True)
class AdaptiveCsvSettings:
    """:class:`AdaptiveCsvOptions`, typed; ``columns`` as :class:`ColumnsSchema` loads it."""

    path: str
    encoding: str
    columns: Mapping[str, str | None]
    student_match: str
    score_kind: str
    max_score: float | None
    date_format: str | None
    item_kind: str


class AdaptiveCsvSource(SourceAdapter):
    """One CSV of per-skill scores from an adaptive practice product."""

    kind = "adaptive_csv"
    options_schema = AdaptiveCsvOptions
    settings_type = AdaptiveCsvSettings
    settings: AdaptiveCsvSettings

    def fingerprint(self) -> str:
        path = self.context.resolve_path(self.settings.path)
        return f"{path.name} ({path.stat().st_size} bytes)" if path.exists() else path.name

    def input_digest(self) -> str | None:
        path = self.context.resolve_path(self.settings.path)
        if not path.is_file():
            return None  # the read says it is missing
        return files_digest([(path.name, lambda: open(path, "rb"))])

    def check(self) -> str:
        """The export is there and can be read."""
        path = self.context.resolve_path(self.settings.path)
        if not path.is_file():
            raise FatalSourceError(f"adaptive export not found: {path}", path=str(path))
        with open(path, "rb") as handle:
            handle.read(1)
        return f"the export can be read: {self.fingerprint()}"

    def read(self) -> Iterator[Envelope | Rejection]:
        path = self.context.resolve_path(self.settings.path)
        if not path.is_file():
            raise FatalSourceError(f"adaptive export not found: {path}", path=str(path))
        skills: set[str] = set()
        seen: dict[str, int] = {}
        for read in read_export(self._reader, path, source=self.key,
                                timezone=self.context.timezone):
            if read is None:  # blank scores are rejected, never skipped, by this profile
                continue
            if isinstance(read, Rejection):
                yield read
                continue
            score = read.score
            if score.sourced_id in seen:
                yield Rejection(path.name, read.row, "", f"duplicate of row "
                                f"{seen[score.sourced_id]} (same student, skill and date)",
                                score.sourced_id)
                continue
            seen[score.sourced_id] = read.row
            if read.item.sourced_id not in skills:
                skills.add(read.item.sourced_id)
                yield Envelope(read.item, path.name, read.row)
            yield Envelope(score, path.name, read.row)

    @cached_property
    def _reader(self) -> VendorProfile:
        """The column map as an inline vendor profile, so one row reader serves both sources."""
        s = self.settings
        roles = {"id": "record_id"}
        return VendorProfile(
            key=self.key, vendor=self.key, title=self.key,
            columns={roles.get(k, k): v for k, v in s.columns.items() if v},
            score=ScoreMeaning(kind=s.score_kind, max=s.max_score),
            evidence_type="adaptive_practice", dok=None, cuts=(),
            student_match=s.student_match, date_format=s.date_format,
            encoding=s.encoding, item_kind=s.item_kind)
