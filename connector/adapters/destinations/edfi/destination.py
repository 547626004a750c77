"""Ed-Fi ODS/API destination: POST upserts by natural key, reads by natural-key query.

The ODS/API answers a POST with 201 (created) or 200 (updated the record with
the same natural key), so writing is idempotent without knowing server ids. A
record is read with the collection query its natural key makes (0 or 1 items);
a delete reads the server id first, as the API deletes by id only. Errors come
back in the API's own words, 7.2+ problem details or the older ``message``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from connector.adapters.base import PushPlan
from connector.adapters.destinations.edfi import bodies
from connector.adapters.destinations.records import (
    Answer,
    HttpRecordClient,
    PushContext,
    RecordDestination,
    RemoteRecord,
)
from connector.adapters.options import PushOptions, PushSettings
from connector.domain.scale import MasteryState, ProficiencyScale

DATA = "/data/v3/ed-fi"
SERVER_FIELDS = frozenset({"id", "_etag", "_lastModifiedDate", "link"})


class GradesOptions(Schema):
    #: Also push a Grade per student and section whose ``learningStandardGrades`` carry each
    #: competency's level (the ODS must hold the LearningStandards already).
    enabled = fields.Boolean(load_default=False)
    #: The GradeTypeDescriptor of those grades.
    grade_type = fields.String(load_default="uri://ed-fi.org/GradeTypeDescriptor#Grading Period")
    #: Which competency value is the ``learningStandardId``: its CASE ``identifier`` or its
    #: human ``code`` (whichever the ODS's LearningStandards use).
    learning_standard_id = fields.String(load_default="identifier",
                                         validate=validate.OneOf(["identifier", "code"]))


class GradebookOptions(Schema):
    #: Also push a GradebookEntry per competency and section, with each student's result.
    enabled = fields.Boolean(load_default=False)
    #: The namespace of the gradebook entries this connector owns (and may update or delete).
    namespace = fields.String(load_default="uri://mastery-connector/gradebook",
                              validate=validate.Length(min=5, max=255))


ED_FI = "uri://ed-fi.org/"


def _descriptor(value: str | None, where: str) -> None:
    if value is not None and (not str(value).startswith("uri://") or "#" not in str(value)):
        raise ValidationError(f"{where}: descriptors are URIs like "
                              f"uri://ed-fi.org/TermDescriptor#Year Round, not {value!r}", where)


class TranscriptsOptions(Schema):
    #: Also push each student's issued transcript: a StudentAcademicRecord per school year and
    #: a CourseTranscript per course, with the credit earned by competency.
    enabled = fields.Boolean(load_default=False)
    #: Whose academic records they are: the student's school (its schoolId from `schools`)
    #: or the district (`education_organization_id`).
    record_organization = fields.String(load_default="school",
                                        validate=validate.OneOf(["school", "district"]))
    #: Who defines the courses in the ODS (their courseCode is the transcript's course code).
    course_organization = fields.String(load_default="district",
                                        validate=validate.OneOf(["district", "school"]))
    #: The TermDescriptor of the records: one per school year.
    term_descriptor = fields.String(load_default=ED_FI + "TermDescriptor#Year Round")
    #: CourseAttemptResultDescriptor of a course whose credit was earned (or transferred).
    earned_result = fields.String(load_default=ED_FI + "CourseAttemptResultDescriptor#Pass")
    #: CourseAttemptResultDescriptor of a course from a past year whose credit is not earned
    #: yet (sent with no credit earned; a course under way this year is not sent).
    not_earned_result = fields.String(
        load_default=ED_FI + "CourseAttemptResultDescriptor#Incomplete")
    #: CreditTypeDescriptor of every credit value; null sends none.
    credit_type = fields.String(load_default=ED_FI + "CreditTypeDescriptor#Carnegie unit",
                                allow_none=True)
    #: MethodCreditEarnedDescriptor of credit earned here by demonstrated competency (Ed-Fi's
    #: defaults have no competency method: a district may add its own); null sends none.
    method_earned = fields.String(load_default=None, allow_none=True)
    #: MethodCreditEarnedDescriptor of credit accepted on transfer.
    method_transfer = fields.String(
        load_default=ED_FI + "MethodCreditEarnedDescriptor#Transfer credit", allow_none=True)
    #: AcademicSubjectDescriptor per course subject (OneRoster ``subjects``).
    subjects = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        for name in ("term_descriptor", "earned_result", "not_earned_result", "credit_type",
                     "method_earned", "method_transfer"):
            _descriptor(data.get(name), name)
        for subject, uri in (data.get("subjects") or {}).items():
            _descriptor(uri, f"subjects.{subject}")


class EdFiOptions(PushOptions):
    #: The district's (LEA's) educationOrganizationId, which owns the competency objectives.
    education_organization_id = fields.Integer(required=True)
    #: The school year records belong to (2026 for 2025-26).
    school_year = fields.Integer(required=True)
    #: Each SIS school sourcedId and its Ed-Fi schoolId.
    schools = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    grading_period = fields.Dict(required=True, metadata={
        "description": "descriptor (URI) and name of the grading period results belong to"})
    #: The GradeLevelDescriptor URI that keys the district's CompetencyObjectives.
    objective_grade_level = fields.String(required=True)
    #: Each scale level code and state, and the CompetencyLevelDescriptor URI it is sent as.
    competency_levels = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    #: Per-standard grades (``Grade.learningStandardGrades``), off unless enabled.
    grades = fields.Nested(GradesOptions, load_default=lambda: GradesOptions().load({}))
    #: Gradebook entries per competency, off unless enabled.
    gradebook = fields.Nested(GradebookOptions,
                              load_default=lambda: GradebookOptions().load({}))
    #: ``letterGradeEarned`` holds 20 characters: a short form per level code or state where
    #: the scale's label is longer. States have short forms of their own ("Insufficient").
    letter_grades = fields.Dict(keys=fields.String(),
                                values=fields.String(validate=validate.Length(min=1, max=20)),
                                load_default=dict)
    #: The section association's sessionName: the SIS term's title unless this names it.
    session_name = fields.String(load_default=None, validate=validate.Length(min=1, max=60))
    #: Push competency levels (StudentCompetencyObjective, and grades and gradebook entries
    #: when enabled). Off for an ODS that takes transcripts only.
    competencies = fields.Boolean(load_default=True)
    #: Issued transcripts as academic records, off unless enabled.
    transcripts = fields.Nested(TranscriptsOptions,
                                load_default=lambda: TranscriptsOptions().load({}))

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        transcripts = data.get("transcripts") or {}
        if not data.get("competencies", True) and not transcripts.get("enabled"):
            raise ValidationError("this destination would push nothing: enable transcripts "
                                  "or keep competencies on", "competencies")
        period = data.get("grading_period") or {}
        if not period.get("descriptor") or not period.get("name"):
            raise ValidationError("grading_period needs 'descriptor' (a URI) and 'name' "
                                  "(Data Standard 5 keys grading periods by name)",
                                  "grading_period")
        for key, uri in list(data.get("competency_levels", {}).items()) + [
                ("objective_grade_level", data.get("objective_grade_level", "")),
                ("grading_period", period.get("descriptor", ""))]:
            if not str(uri).startswith("uri://") or "#" not in str(uri):
                raise ValidationError(f"{key}: descriptors are URIs like "
                                      f"uri://ed-fi.org/CompetencyLevelDescriptor#Proficient, "
                                      f"not {uri!r}")


@dataclass(frozen=True, kw_only=True)
class EdFiSettings(PushSettings):
    """:class:`EdFiOptions`, typed; ``grades`` and ``gradebook`` as their schemas load them."""

    education_organization_id: int
    school_year: int
    schools: Mapping[str, int]
    grading_period: Mapping[str, str]
    objective_grade_level: str
    competency_levels: Mapping[str, str]
    grades: Mapping[str, Any]
    gradebook: Mapping[str, Any]
    letter_grades: Mapping[str, str]
    session_name: str | None
    competencies: bool
    transcripts: Mapping[str, Any]


class EdFiDestination(RecordDestination):
    """Pushes competency levels (StudentCompetencyObjective), per-standard grades and transcripts."""

    kind = "edfi"
    options_schema = EdFiOptions
    settings_type = EdFiSettings
    settings: EdFiSettings
    system = "Ed-Fi destination"
    api_path = DATA
    check_collection = ("schools", "school")
    server_fields = SERVER_FIELDS

    def mapping(self) -> bodies.EdFiMapping:
        s = self.settings
        return bodies.EdFiMapping(
            education_organization_id=int(s.education_organization_id),
            school_year=int(s.school_year),
            schools={str(k): int(v) for k, v in s.schools.items()},
            grading_period_descriptor=str(s.grading_period["descriptor"]),
            grading_period_name=str(s.grading_period["name"]),
            objective_grade_level=s.objective_grade_level,
            competency_levels={str(k): str(v) for k, v in s.competency_levels.items()},
            grades=bool(s.grades["enabled"]),
            grade_type=str(s.grades["grade_type"]),
            learning_standard_id=str(s.grades["learning_standard_id"]),
            gradebook_namespace=(str(s.gradebook["namespace"])
                                 if s.gradebook["enabled"] else None),
            letter_grades={str(k): str(v) for k, v in s.letter_grades.items()},
            session_name=s.session_name or None,
            competencies=bool(s.competencies),
            transcripts=_transcript_mapping(s.transcripts),
        )

    @property
    def wants_results(self) -> bool:
        return bool(self.settings.competencies)

    @property
    def wants_transcripts(self) -> bool:
        return bool(self.settings.transcripts["enabled"])

    @classmethod
    def scale_problems(cls, options: Mapping[str, Any], scale: ProficiencyScale
                       ) -> list[tuple[str, str]]:
        """Every level and state must fit ``letterGradeEarned`` (20 characters)."""
        letters = options.get("letter_grades") or {}
        known = {lv.code: lv.label for lv in scale.levels} | {
            state.value: scale.state_label(state) for state in MasteryState
            if state is not MasteryState.LEVEL}
        problems = [(f"letter_grades.{k}", f"{k!r} is neither a level code nor a state of "
                                           f"{scale.name}; use one of {sorted(known)}")
                    for k in sorted(set(letters) - set(known))]
        for code, label in known.items():
            if (code not in letters and code not in bodies.STATE_LETTERS
                    and len(label) > bodies.LETTER_GRADE_LENGTH):
                problems.append((f"letter_grades.{code}",
                                 f"Ed-Fi's letterGradeEarned holds {bodies.LETTER_GRADE_LENGTH} "
                                 f"characters and {label!r} has {len(label)}: give a short form, "
                                 f"e.g. letter_grades: {{{code}: {label[:12].strip()!r}}}"))
        return problems

    def desired(self, plan: PushPlan, context: PushContext) -> list[RemoteRecord]:
        self.skipped = []
        mapping = self.mapping()
        out = bodies.records(plan.results, mapping, self.skipped) if mapping.competencies else []
        return out + bodies.transcript_records(plan.transcripts, mapping, self.skipped)


def _transcript_mapping(options: Mapping[str, Any]) -> bodies.TranscriptMapping | None:
    if not options["enabled"]:
        return None
    return bodies.TranscriptMapping(
        record_organization=str(options["record_organization"]),
        course_organization=str(options["course_organization"]),
        term_descriptor=str(options["term_descriptor"]),
        results={"earned": str(options["earned_result"]),
                 "not_earned": str(options["not_earned_result"])},
        credit_type=options["credit_type"] or None,
        method_earned=options["method_earned"] or None,
        method_transfer=options["method_transfer"] or None,
        subjects={str(k): str(v) for k, v in options["subjects"].items()})


class EdFiRecords(HttpRecordClient):
    def _find(self, resource: str, remote_id: str) -> tuple[Answer, str]:
        response = self.http.send("GET", f"{self.root}/{resource}",
                                  params={**bodies.key_query(remote_id), "limit": 2})
        if response.status_code != 200:
            return Answer(False, response.status_code, problem_message(response)), ""
        try:
            items = response.json()
        except ValueError:
            return Answer(False, 200, "the answer was not JSON"), ""
        if not isinstance(items, list) or len(items) > 1:
            return Answer(False, 200, "the natural-key query did not return 0 or 1 items"), ""
        if not items:
            return Answer(True, 200, body=None), ""
        return Answer(True, 200, body=items[0]), str(items[0].get("id", ""))

    def read(self, record: RemoteRecord) -> Answer:
        return self._find(record.resource, record.remote_id)[0]

    def write(self, record: RemoteRecord) -> Answer:
        return self._post(record.resource, dict(record.body), record.remote_id)

    def put_back(self, resource: str, remote_id: str, body: Mapping[str, Any]) -> Answer:
        return self._post(resource, _strip(body), remote_id)

    def _post(self, resource: str, body: dict[str, Any], remote_id: str) -> Answer:
        response = self.http.send("POST", f"{self.root}/{resource}", json=body)
        if response.status_code in (200, 201):
            return Answer(True, response.status_code, remote_id=remote_id)
        return Answer(False, response.status_code, problem_message(response))

    def delete(self, resource: str, remote_id: str) -> Answer:
        found, server_id = self._find(resource, remote_id)
        if not found.ok:
            return found
        if found.body is None:
            return Answer(True, 404)
        response = self.http.send("DELETE", f"{self.root}/{resource}/{server_id}")
        if response.status_code in (200, 204, 404):
            return Answer(True, response.status_code)
        return Answer(False, response.status_code, problem_message(response))



EdFiDestination.client_class = EdFiRecords

def _strip(value: Any) -> Any:
    """A record as read, without what the server adds (ids, etags, links), to post back."""
    if isinstance(value, Mapping):
        return {k: _strip(v) for k, v in value.items() if k not in SERVER_FIELDS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def problem_message(response: requests.Response) -> str:
    """The ODS/API's words: problem details (detail, validationErrors, errors) or message."""
    try:
        payload = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    if not isinstance(payload, Mapping):
        return f"HTTP {response.status_code}: {str(payload)[:300]}"
    parts = [str(payload.get("detail") or payload.get("message") or "")]
    for path, messages in (payload.get("validationErrors") or {}).items():
        parts.append(f"{path}: {'; '.join(map(str, messages))}")
    parts.extend(str(e) for e in payload.get("errors") or [])
    kind = payload.get("type")
    text = " | ".join(p for p in parts if p)
    return f"HTTP {response.status_code}" + (f" [{kind}]" if kind else "") + f": {text}"
