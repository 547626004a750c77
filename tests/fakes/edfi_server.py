"""A fake Ed-Fi ODS/API 7.x (Data Standard 5.x) for competency results, grades, transcripts.

Behaviour follows /work/notes/edfi-research.md (Ed-Fi docs: authentication,
REST conventions, error response knowledge base; the DS 5 resource schemas):

- ``POST /oauth/token`` with HTTP Basic and ``grant_type=client_credentials``
  answers ``{access_token, expires_in, token_type}``; data calls without a
  live token get 401 ``urn:ed-fi:api:security:authentication``;
- ``/data/v3/ed-fi/{resource}``: GET pages with ``offset``/``limit`` (limit at
  most 500, else 400 parameter-validation-failed; ``totalCount=true`` gives a
  ``Total-Count`` header) and filters by the flattened natural-key fields;
  POST upserts by natural key (201 new, 200 existing; ``Location`` and
  ``ETag``), refuses an ``id`` in the body, checks required fields, lengths and
  descriptor URIs (400 data-validation-failed with ``validationErrors``),
  references (409 unresolved-reference; an unknown student is 403, as the ODS
  authorises on students) and key unification of ``schoolId``;
- ``GET/PUT/DELETE /{resource}/{id}``; DELETE of a referenced item is 409
  dependent-item-exists;
- ``studentAcademicRecords`` need their student, education organization and school
  year; ``courseTranscripts`` their course and academic record (409 otherwise);
  credits are DECIMAL(9,3); a record that course lines refer to cannot be deleted
  (409 dependent-item-exists, as the ODS's foreign keys do not cascade);
- items come back with ``id``, ``_etag``, ``_lastModifiedDate`` and a ``link``
  in each reference, as the ODS serves them.
"""

from __future__ import annotations

import base64
import copy
import itertools
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, request

from tests.fakes.server import Faults, Tokens, install_faults

PREFIX = "/data/v3/ed-fi"


def problem(status: int, kind: str, title: str, detail: str, *,
            validation: Mapping[str, list[str]] | None = None,
            errors: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": detail, "type": kind, "title": title, "status": status,
                            "correlationId": uuid.uuid4().hex[:12]}
    if validation:
        body["validationErrors"] = dict(validation)
    if errors:
        body["errors"] = errors
    return body


def _get(obj: Mapping[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _index(key: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, str(v)) for k, v in key.items()))


@dataclass(frozen=True)
class Spec:
    """What the ODS knows about one resource."""

    required: tuple[str, ...]
    key: Callable[[Mapping[str, Any]], dict[str, Any]]  # natural key as query names
    descriptors: Mapping[str, str]  # body path -> descriptor type
    lengths: Mapping[str, int] = field(default_factory=dict)


def _sco_key(b: Mapping[str, Any]) -> dict[str, Any]:
    return {"studentUniqueId": _get(b, "studentReference.studentUniqueId"),
            "objective": _get(b, "objectiveCompetencyObjectiveReference.objective"),
            "objectiveEducationOrganizationId": _get(
                b, "objectiveCompetencyObjectiveReference.educationOrganizationId"),
            "objectiveGradeLevelDescriptor": _get(
                b, "objectiveCompetencyObjectiveReference.objectiveGradeLevelDescriptor"),
            "gradingPeriodDescriptor": _get(b, "gradingPeriodReference.gradingPeriodDescriptor"),
            "gradingPeriodName": _get(b, "gradingPeriodReference.gradingPeriodName"),
            "gradingPeriodSchoolId": _get(b, "gradingPeriodReference.schoolId"),
            "gradingPeriodSchoolYear": _get(b, "gradingPeriodReference.schoolYear")}


def _grade_key(b: Mapping[str, Any]) -> dict[str, Any]:
    ssa = b.get("studentSectionAssociationReference") or {}
    return {"studentUniqueId": ssa.get("studentUniqueId"), "schoolId": ssa.get("schoolId"),
            "schoolYear": ssa.get("schoolYear"), "sessionName": ssa.get("sessionName"),
            "localCourseCode": ssa.get("localCourseCode"),
            "sectionIdentifier": ssa.get("sectionIdentifier"), "beginDate": ssa.get("beginDate"),
            "gradeTypeDescriptor": b.get("gradeTypeDescriptor"),
            "gradingPeriodDescriptor": _get(b, "gradingPeriodReference.gradingPeriodDescriptor"),
            "gradingPeriodName": _get(b, "gradingPeriodReference.gradingPeriodName"),
            "gradingPeriodSchoolYear": _get(b, "gradingPeriodReference.schoolYear")}


def _entry_key(b: Mapping[str, Any]) -> dict[str, Any]:
    return {"gradebookEntryIdentifier": b.get("gradebookEntryIdentifier"),
            "namespace": b.get("namespace")}


def _student_entry_key(b: Mapping[str, Any]) -> dict[str, Any]:
    return {"gradebookEntryIdentifier": _get(b, "gradebookEntryReference.gradebookEntryIdentifier"),
            "namespace": _get(b, "gradebookEntryReference.namespace"),
            "studentUniqueId": _get(b, "studentReference.studentUniqueId")}


def _record_key(b: Mapping[str, Any]) -> dict[str, Any]:
    return {"studentUniqueId": _get(b, "studentReference.studentUniqueId"),
            "educationOrganizationId": _get(b, "educationOrganizationReference.educationOrganizationId"),
            "schoolYear": _get(b, "schoolYearTypeReference.schoolYear"),
            "termDescriptor": b.get("termDescriptor")}


def _course_transcript_key(b: Mapping[str, Any]) -> dict[str, Any]:
    """As the ODS names the query: the record's edorg plain, the course's with its role."""
    record = b.get("studentAcademicRecordReference") or {}
    return {"courseAttemptResultDescriptor": b.get("courseAttemptResultDescriptor"),
            "courseCode": _get(b, "courseReference.courseCode"),
            "courseEducationOrganizationId": _get(b, "courseReference.educationOrganizationId"),
            "educationOrganizationId": record.get("educationOrganizationId"),
            "schoolYear": record.get("schoolYear"),
            "studentUniqueId": record.get("studentUniqueId"),
            "termDescriptor": record.get("termDescriptor")}


#: Credits are DECIMAL(9,3) in the ODS: a value beyond that is refused.
CREDIT_FIELDS = ("earnedCredits", "attemptedCredits", "cumulativeEarnedCredits",
                 "cumulativeAttemptedCredits", "sessionEarnedCredits", "sessionAttemptedCredits")

SPECS = {
    "studentAcademicRecords": Spec(
        ("studentReference.studentUniqueId",
         "educationOrganizationReference.educationOrganizationId",
         "schoolYearTypeReference.schoolYear", "termDescriptor"),
        _record_key,
        {"termDescriptor": "TermDescriptor",
         "cumulativeEarnedCreditTypeDescriptor": "CreditTypeDescriptor",
         "cumulativeAttemptedCreditTypeDescriptor": "CreditTypeDescriptor",
         "sessionEarnedCreditTypeDescriptor": "CreditTypeDescriptor",
         "sessionAttemptedCreditTypeDescriptor": "CreditTypeDescriptor"}),
    "courseTranscripts": Spec(
        ("courseAttemptResultDescriptor", "courseReference.courseCode",
         "courseReference.educationOrganizationId",
         "studentAcademicRecordReference.educationOrganizationId",
         "studentAcademicRecordReference.schoolYear",
         "studentAcademicRecordReference.studentUniqueId",
         "studentAcademicRecordReference.termDescriptor"),
        _course_transcript_key,
        {"courseAttemptResultDescriptor": "CourseAttemptResultDescriptor",
         "studentAcademicRecordReference.termDescriptor": "TermDescriptor",
         "earnedCreditTypeDescriptor": "CreditTypeDescriptor",
         "attemptedCreditTypeDescriptor": "CreditTypeDescriptor",
         "methodCreditEarnedDescriptor": "MethodCreditEarnedDescriptor"},
        {"courseTitle": 60, "alternativeCourseTitle": 60, "finalLetterGradeEarned": 20,
         "externalEducationOrganizationNameOfInstitution": 75}),
    "gradebookEntries": Spec(
        ("gradebookEntryIdentifier", "namespace", "dateAssigned", "sourceSectionIdentifier",
         "title"),
        _entry_key, {}, {"gradebookEntryIdentifier": 60, "namespace": 255, "title": 100,
                         "description": 1024}),
    "studentGradebookEntries": Spec(
        ("gradebookEntryReference.gradebookEntryIdentifier", "gradebookEntryReference.namespace",
         "studentReference.studentUniqueId"),
        _student_entry_key, {"competencyLevelDescriptor": "CompetencyLevelDescriptor"},
        {"letterGradeEarned": 20}),
    "competencyObjectives": Spec(
        ("educationOrganizationReference.educationOrganizationId", "objective",
         "objectiveGradeLevelDescriptor"),
        lambda b: {"educationOrganizationId": _get(
            b, "educationOrganizationReference.educationOrganizationId"),
            "objective": b.get("objective"),
            "objectiveGradeLevelDescriptor": b.get("objectiveGradeLevelDescriptor")},
        {"objectiveGradeLevelDescriptor": "GradeLevelDescriptor"},
        {"objective": 60, "competencyObjectiveId": 60, "description": 1024,
         "successCriteria": 150}),
    "studentCompetencyObjectives": Spec(
        ("competencyLevelDescriptor", "objectiveCompetencyObjectiveReference.objective",
         "objectiveCompetencyObjectiveReference.educationOrganizationId",
         "objectiveCompetencyObjectiveReference.objectiveGradeLevelDescriptor",
         "gradingPeriodReference.gradingPeriodDescriptor",
         "gradingPeriodReference.gradingPeriodName", "gradingPeriodReference.schoolId",
         "gradingPeriodReference.schoolYear", "studentReference.studentUniqueId"),
        _sco_key,
        {"competencyLevelDescriptor": "CompetencyLevelDescriptor",
         "gradingPeriodReference.gradingPeriodDescriptor": "GradingPeriodDescriptor",
         "objectiveCompetencyObjectiveReference.objectiveGradeLevelDescriptor":
             "GradeLevelDescriptor"},
        {"diagnosticStatement": 1024}),
    "grades": Spec(
        ("gradeTypeDescriptor", "gradingPeriodReference.gradingPeriodDescriptor",
         "gradingPeriodReference.gradingPeriodName", "gradingPeriodReference.schoolId",
         "gradingPeriodReference.schoolYear", "studentSectionAssociationReference.beginDate",
         "studentSectionAssociationReference.localCourseCode",
         "studentSectionAssociationReference.schoolId",
         "studentSectionAssociationReference.schoolYear",
         "studentSectionAssociationReference.sectionIdentifier",
         "studentSectionAssociationReference.sessionName",
         "studentSectionAssociationReference.studentUniqueId"),
        _grade_key,
        {"gradeTypeDescriptor": "GradeTypeDescriptor",
         "gradingPeriodReference.gradingPeriodDescriptor": "GradingPeriodDescriptor"},
        {"letterGradeEarned": 20, "diagnosticStatement": 1024}),
}


@dataclass
class FakeEdFi:
    clients: Mapping[str, str] = field(default_factory=dict)  # key -> secret
    descriptors: dict[str, set[str]] = field(default_factory=dict)
    education_organizations: set[int] = field(default_factory=set)
    students: set[str] = field(default_factory=set)
    grading_periods: set[tuple[str, str, int, int]] = field(default_factory=set)
    section_associations: set[tuple[Any, ...]] = field(default_factory=set)
    learning_standards: set[str] = field(default_factory=set)
    #: (courseCode, educationOrganizationId) of the courses the ODS holds.
    courses: set[tuple[str, int]] = field(default_factory=set)
    school_years: set[int] = field(default_factory=set)
    store: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {name: {} for name in SPECS})
    faults: Faults = field(default_factory=Faults)
    tokens: Tokens = field(default_factory=lambda: Tokens(lifetime=1800))
    posts: list[tuple[str, int, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: resource -> natural key (as query strings) -> id: how the ODS finds an item by key.
    keys: dict[str, dict[tuple[tuple[str, str], ...], str]] = field(
        default_factory=lambda: {name: {} for name in SPECS})

    def __post_init__(self) -> None:
        self._etags = itertools.count(1)
        self.app = self._build()

    def add_descriptors(self, kind: str, uris: Iterable[str]) -> None:
        self.descriptors.setdefault(kind, set()).update(uris)

    def snapshot(self, *, server_fields: bool = True) -> dict[str, dict[str, dict[str, Any]]]:
        with self.lock:
            data = copy.deepcopy(self.store)
        if not server_fields:
            for rows in data.values():
                for body in rows.values():
                    body.pop("_etag", None)
                    body.pop("_lastModifiedDate", None)
        return data

    # -- validation ----------------------------------------------------------------

    def _validate(self, resource: str, body: Mapping[str, Any]) -> Response | None:
        spec = SPECS[resource]
        errors: dict[str, list[str]] = {}
        for path in spec.required:
            if _get(body, path) in (None, ""):
                name = path.rsplit(".", 1)[-1]
                errors.setdefault(f"$.{path}", []).append(
                    f"{name[0].upper() + name[1:]} is required.")
        for path, limit in spec.lengths.items():
            value = _get(body, path)
            if isinstance(value, str) and len(value) > limit:
                errors.setdefault(f"$.{path}", []).append(
                    f"{path} must be at most {limit} characters.")
        for index, entry in enumerate(body.get("learningStandardGrades") or []):
            letter = entry.get("letterGradeEarned")
            if isinstance(letter, str) and len(letter) > 20:
                errors.setdefault(f"$.learningStandardGrades[{index}].letterGradeEarned", []
                                  ).append("LetterGradeEarned must be at most 20 characters.")
        for name in CREDIT_FIELDS:
            value = body.get(name)
            if value is not None and (not isinstance(value, (int, float)) or isinstance(
                    value, bool) or abs(value) >= 1_000_000 or round(value, 3) != value):
                errors.setdefault(f"$.{name}", []).append(
                    f"{name} must be a decimal with at most 6 digits before and 3 after the "
                    f"point.")
        for index, entry in enumerate(body.get("academicSubjects") or []):
            value = entry.get("academicSubjectDescriptor")
            if value not in self.descriptors.get("AcademicSubjectDescriptor", set()):
                errors.setdefault(f"$.academicSubjects[{index}].academicSubjectDescriptor", []
                                  ).append(f"AcademicSubjectDescriptor value '{value}' does not "
                                           f"exist.")
        for path, kind in spec.descriptors.items():
            value = _get(body, path)
            if value and value not in self.descriptors.get(kind, set()):
                errors.setdefault(f"$.{path}", []).append(
                    f"{kind} value '{value}' does not exist.")
        if errors:
            return self._fail(400, "urn:ed-fi:api:bad-request:data-validation-failed",
                              "Data Validation Failed",
                              "Data validation failed. See 'validationErrors' for details.",
                              validation=errors)
        return self._references(resource, body)

    def _references(self, resource: str, body: Mapping[str, Any]) -> Response | None:
        def unresolved(what: str) -> Response:
            return self._fail(409, "urn:ed-fi:api:data-conflict:unresolved-reference",
                              "Unresolved Reference",
                              f"The referenced '{what}' item does not exist.")

        if resource == "gradebookEntries":
            for entry in body.get("learningStandards") or []:
                if _get(entry, "learningStandardReference.learningStandardId") not in (
                        self.learning_standards):
                    return unresolved("LearningStandard")
            section = body.get("sectionReference")
            if section is not None:  # optional in DS 5; when given it must name a section
                sections = {(course, school, year, klass, session)
                            for _b, course, school, year, klass, session, _s
                            in self.section_associations}
                if (section.get("localCourseCode"), section.get("schoolId"),
                        section.get("schoolYear"), section.get("sectionIdentifier"),
                        section.get("sessionName")) not in sections:
                    return unresolved("Section")
            return None
        if resource == "studentGradebookEntries":
            if _get(body, "studentReference.studentUniqueId") not in self.students:
                return self._fail(403, "urn:ed-fi:api:security:authorization",
                                  "Authorization Denied",
                                  "Access to the requested data could not be authorized.")
            if _index(_entry_key(body["gradebookEntryReference"])) not in (
                    self.keys["gradebookEntries"]):
                return unresolved("GradebookEntry")
            return None
        if resource in ("studentAcademicRecords", "courseTranscripts"):
            return self._transcript_references(resource, body, unresolved)
        if resource == "competencyObjectives":
            org = _get(body, "educationOrganizationReference.educationOrganizationId")
            if org not in self.education_organizations:
                return unresolved("EducationOrganization")
            return None
        student = (_get(body, "studentReference.studentUniqueId")
                   or _get(body, "studentSectionAssociationReference.studentUniqueId"))
        if student not in self.students:
            return self._fail(403, "urn:ed-fi:api:security:authorization",
                              "Authorization Denied",
                              "Access to the requested data could not be authorized.",
                              errors=["The 'Student' referenced is not accessible to the caller."])
        period = body["gradingPeriodReference"]
        if (period["gradingPeriodDescriptor"], period["gradingPeriodName"], period["schoolId"],
                period["schoolYear"]) not in self.grading_periods:
            return unresolved("GradingPeriod")
        if resource == "studentCompetencyObjectives":
            ref = body["objectiveCompetencyObjectiveReference"]
            wanted = {"educationOrganizationId": ref["educationOrganizationId"],
                      "objective": ref["objective"],
                      "objectiveGradeLevelDescriptor": ref["objectiveGradeLevelDescriptor"]}
            if _index(wanted) not in self.keys["competencyObjectives"]:
                return unresolved("CompetencyObjective")
            return None
        ssa = body["studentSectionAssociationReference"]
        if ssa["schoolId"] != period["schoolId"]:
            return self._fail(400, "urn:ed-fi:api:bad-request:data-validation-failed",
                              "Data Validation Failed",
                              "Data validation failed. See 'validationErrors' for details.",
                              validation={"$.studentSectionAssociationReference.schoolId": [
                                  "All values supplied for 'schoolId' must match."]})
        key = tuple(ssa[k] for k in ("beginDate", "localCourseCode", "schoolId", "schoolYear",
                                     "sectionIdentifier", "sessionName", "studentUniqueId"))
        if key not in self.section_associations:
            return unresolved("StudentSectionAssociation")
        for entry in body.get("learningStandardGrades") or []:
            if _get(entry, "learningStandardReference.learningStandardId") not in (
                    self.learning_standards):
                return unresolved("LearningStandard")
        return None

    def _transcript_references(self, resource: str, body: Mapping[str, Any],
                               unresolved: Callable[[str], Response]) -> Response | None:
        """A record needs its student, school and year; a course line its course and record."""
        record = (body if resource == "studentAcademicRecords"
                  else {"studentReference": {"studentUniqueId": _get(
                            body, "studentAcademicRecordReference.studentUniqueId")}})
        if _get(record, "studentReference.studentUniqueId") not in self.students:
            return self._fail(403, "urn:ed-fi:api:security:authorization",
                              "Authorization Denied",
                              "Access to the requested data could not be authorized.",
                              errors=["The 'Student' referenced is not accessible to the caller."])
        if resource == "studentAcademicRecords":
            if _get(body, "educationOrganizationReference.educationOrganizationId") not in (
                    self.education_organizations):
                return unresolved("EducationOrganization")
            if _get(body, "schoolYearTypeReference.schoolYear") not in self.school_years:
                return unresolved("SchoolYearType")
            return None
        course = body["courseReference"]
        if (course["courseCode"], course["educationOrganizationId"]) not in self.courses:
            return unresolved("Course")
        reference = body["studentAcademicRecordReference"]
        wanted = {"studentUniqueId": reference["studentUniqueId"],
                  "educationOrganizationId": reference["educationOrganizationId"],
                  "schoolYear": reference["schoolYear"],
                  "termDescriptor": reference["termDescriptor"]}
        if _index(wanted) not in self.keys["studentAcademicRecords"]:
            return unresolved("StudentAcademicRecord")
        return None

    def _fail(self, status: int, kind: str, title: str, detail: str, **extra: Any) -> Response:
        response = self.app.json.response(problem(status, kind, title, detail, **extra))
        response.status_code = status
        return response

    # -- the application --------------------------------------------------------------

    def _build(self) -> Flask:
        app = Flask("fake-edfi")
        install_faults(app, self.faults, busy_body=lambda s: problem(
            s, "urn:ed-fi:api:system-error", "System Error", "The server is busy."))

        @app.post("/oauth/token")
        def token() -> Response:
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("Basic "):
                return Response(status=401)
            key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            if self.clients.get(key) != secret:
                response = app.json.response({"error": "invalid_client"})
                response.status_code = 400
                return response
            if request.form.get("grant_type") != "client_credentials":
                response = app.json.response({"error": "unsupported_grant_type"})
                response.status_code = 400
                return response
            return app.json.response({"access_token": self.tokens.issue(key, frozenset()),
                                      "expires_in": self.tokens.lifetime,
                                      "token_type": "bearer"})

        @app.before_request
        def _authenticate() -> Response | None:
            if not request.path.startswith(PREFIX):
                return None
            if self.tokens.check(request.headers.get("Authorization")) is None:
                return self._fail(401, "urn:ed-fi:api:security:authentication",
                                  "Authentication Failed", "The caller could not be authenticated.",
                                  errors=["Invalid Authorization header."])
            return None

        def unknown(resource: str) -> Response | None:
            if resource not in SPECS:
                return self._fail(404, "urn:ed-fi:api:not-found", "Not Found",
                                  "The specified data could not be found.")
            return None

        @app.get(f"{PREFIX}/schools")
        def schools() -> Response:
            """Schools the ODS knows (Ed-Fi School resource; the fake keeps only their ids)."""
            rows = [{"id": f"school-{n}", "schoolId": n, "nameOfInstitution": f"School {n}"}
                    for n in sorted(self.education_organizations)]
            limit = int(request.args.get("limit", 25))
            return app.json.response(rows[:limit])

        @app.get(f"{PREFIX}/<resource>")
        def query(resource: str) -> Response:
            missing = unknown(resource)
            if missing is not None:
                return missing
            try:
                limit = int(request.args.get("limit", 25))
                offset = int(request.args.get("offset", 0))
            except ValueError:
                limit, offset = -1, 0
            if not 0 <= limit <= 500:
                return self._fail(400, "urn:ed-fi:api:bad-request:parameter-validation-failed",
                                  "Parameter Validation Failed",
                                  "The limit parameter was incorrect.",
                                  errors=["Limit must be omitted or set to a value between 0 "
                                          "and 500."])
            filters = {k: v for k, v in request.args.items()
                       if k not in ("limit", "offset", "totalCount")}
            spec = SPECS[resource]
            with self.lock:
                exact = _index(filters)
                if exact in self.keys[resource]:
                    rows = [copy.deepcopy(self.store[resource][self.keys[resource][exact]])]
                elif len(filters) == len(exact) and set(dict(exact)) == set(
                        spec.key({}).keys()):
                    rows = []
                else:
                    rows = [copy.deepcopy(o) for o in self.store[resource].values()
                            if all(str(spec.key(o).get(k)) == v for k, v in filters.items())]
            response = app.json.response(rows[offset:offset + limit])
            if request.args.get("totalCount") == "true":
                response.headers["Total-Count"] = str(len(rows))
            return response

        @app.get(f"{PREFIX}/<resource>/<item_id>")
        def one(resource: str, item_id: str) -> Response:
            missing = unknown(resource)
            if missing is not None:
                return missing
            obj = self.store[resource].get(item_id)
            if obj is None:
                return self._fail(404, "urn:ed-fi:api:not-found", "Not Found",
                                  "The specified item could not be found.")
            response = app.json.response(obj)
            response.headers["ETag"] = f'"{obj["_etag"]}"'
            return response

        @app.post(f"{PREFIX}/<resource>")
        def upsert(resource: str) -> Response:
            missing = unknown(resource)
            if missing is not None:
                return missing
            if not request.is_json:
                return self._fail(415, "urn:ed-fi:api:unsupported-media-type",
                                  "Unsupported Media Type", "The request construction was invalid.")
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or not body:
                return self._fail(400, "urn:ed-fi:api:bad-request", "Bad Request",
                                  "The request could not be processed. See 'errors' for details.",
                                  errors=["A non-empty request body is required."])
            if "id" in body:
                return self._fail(400, "urn:ed-fi:api:bad-request:data-validation-failed",
                                  "Data Validation Failed",
                                  "Data validation failed. See 'validationErrors' for details.",
                                  validation={"$.id": ["Resource identifiers cannot be assigned "
                                                       "by the client."]})
            refused = self._validate(resource, body)
            if refused is not None:
                self.posts.append((resource, refused.status_code, body))
                return refused
            key = _index(SPECS[resource].key(body))
            with self.lock:
                existing = self.keys[resource].get(key)
                item_id = existing or uuid.uuid4().hex
                stored = self._served(body, item_id)
                self.store[resource][item_id] = stored
                self.keys[resource][key] = item_id
            self.posts.append((resource, 200 if existing else 201, body))
            response = Response(status=200 if existing else 201)
            response.headers["Location"] = (
                f"{request.host_url.rstrip('/')}{PREFIX}/{resource}/{item_id}")
            response.headers["ETag"] = f'"{stored["_etag"]}"'
            return response

        @app.delete(f"{PREFIX}/<resource>/<item_id>")
        def remove(resource: str, item_id: str) -> Response:
            missing = unknown(resource)
            if missing is not None:
                return missing
            with self.lock:
                obj = self.store[resource].get(item_id)
                if obj is None:
                    return self._fail(404, "urn:ed-fi:api:not-found", "Not Found",
                                      "The specified item could not be found.")
                if resource == "competencyObjectives":
                    key = SPECS[resource].key(obj)
                    for sco in self.store["studentCompetencyObjectives"].values():
                        ref = sco["objectiveCompetencyObjectiveReference"]
                        if (ref["objective"], ref["educationOrganizationId"]) == (
                                key["objective"], key["educationOrganizationId"]):
                            return self._fail(
                                409, "urn:ed-fi:api:data-conflict:dependent-item-exists",
                                "Dependent Item Exists",
                                "The requested action cannot be performed because this item is "
                                "referenced by an existing 'StudentCompetencyObjective' item.")
                if resource == "studentAcademicRecords":
                    key = SPECS[resource].key(obj)
                    for line in self.store["courseTranscripts"].values():
                        ref = line["studentAcademicRecordReference"]
                        if all(ref[name] == key[name] for name in key):
                            return self._fail(
                                409, "urn:ed-fi:api:conflict:dependent-item-exists",
                                "Dependent Item Exists",
                                "The requested action cannot be performed because this item is "
                                "referenced by an existing 'CourseTranscript' item.")
                del self.store[resource][item_id]
                self.keys[resource].pop(_index(SPECS[resource].key(obj)), None)
            return Response(status=204)

        return app

    def _served(self, body: Mapping[str, Any], item_id: str) -> dict[str, Any]:
        """The item as the ODS serves it: id, etag, timestamp, links on references."""
        stored = copy.deepcopy(dict(body))
        stored["id"] = item_id
        stored["_etag"] = str(5_250_000_000_000_000 + next(self._etags))
        stored["_lastModifiedDate"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for name, value in stored.items():
            if name.endswith("Reference") and isinstance(value, dict):
                kind = name[:-len("Reference")]
                target = uuid.uuid5(uuid.NAMESPACE_URL, repr(sorted(value.items()))).hex
                value["link"] = {"rel": kind[0].upper() + kind[1:],
                                 "href": f"/ed-fi/{kind}s/{target}"}
        return stored
