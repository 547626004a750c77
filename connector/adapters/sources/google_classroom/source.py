"""Pull teacher evidence from Google Classroom: graded course work and returned grades.

Like every LMS source this gives evidence only. Classroom knows its users by
Google ids; the roster knows their school email, so a student is named by the
email on their Classroom profile (which the ``classroom.profile.emails`` scope
reveals), or by the district's identity crosswalk. A course is tied to its SIS
class by a domain alias (``d:<SIS class id>``, the form SIS rostering tools
create) or by the crosswalk.

Per course: aliases, students, published course work with points
(``maxPoints`` absent or 0 means ungraded: not evidence), and every submission
at once (``courseWork/-/studentSubmissions``). Only ``assignedGrade`` is a
grade: ``draftGrade`` is the teacher's unreturned draft. Classroom has no
"changed since" filter, so each pass reads each course in full; staging writes
only what changed (content hashes), and what the last pass yielded and this one
no longer finds (course work deleted, a grade withdrawn) is deleted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import fields, validate

from connector.adapters.base import Envelope
from connector.adapters.clients import http_client
from connector.adapters.course_pass import CourseReader, CourseSource, CourseState, gone
from connector.adapters.crosswalk import Crosswalk
from connector.adapters.http.client import HttpClient, json_object
from connector.adapters.http.google_auth import DelegatedToken, service_account_info
from connector.adapters.http.paging import PageTokenPager
from connector.adapters.http.throttle import QuotaWindow
from connector.adapters.options import HttpOptions, HttpSettings, PathOption, SecretRef
from connector.adapters.values import parse_datetime
from connector.domain.records import Score, SourceItem, StudentRef
from connector.errors import DataError, Rejection

SCOPES = (
    "https://www.googleapis.com/auth/classroom.courses.readonly",
    "https://www.googleapis.com/auth/classroom.rosters.readonly",
    "https://www.googleapis.com/auth/classroom.profile.emails",
    "https://www.googleapis.com/auth/classroom.coursework.students.readonly",
)


class GoogleClassroomOptions(HttpOptions):
    #: The Classroom API root.
    base_url = fields.Url(load_default="https://classroom.googleapis.com", require_tld=False)
    #: Environment reference to the service-account key (its JSON, or the key file's path).
    service_account_key = SecretRef(required=True)
    #: The Workspace user the service account acts as (an administrator sees every course).
    subject = fields.Email(required=True)
    #: Which courses to read by Classroom state (``ACTIVE``, ``ARCHIVED``, ...).
    course_states = fields.List(fields.String(), load_default=lambda: ["ACTIVE"])
    #: Read only these Classroom course ids; empty reads every course in ``course_states``.
    course_ids = fields.List(fields.String(), load_default=None)
    #: Entries per page asked of Google (it may send fewer).
    page_size = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=1000))
    #: Below Google's 1,200 read requests per minute per user, so we never meet the quota.
    requests_per_minute = fields.Integer(load_default=1000, validate=validate.Range(min=1))
    #: The length of the quota's window, in seconds (Google counts per minute).
    quota_window_seconds = fields.Float(load_default=60.0, validate=validate.Range(min=0.01))
    #: The identity crosswalk CSV for students and courses Classroom cannot tie to the SIS.
    identity_crosswalk = PathOption(kind="file", load_default=None)


@dataclass(frozen=True, kw_only=True)
class GoogleClassroomSettings(HttpSettings):
    """:class:`GoogleClassroomOptions`, typed."""

    service_account_key: str
    subject: str
    course_states: Sequence[str]
    course_ids: Sequence[str] | None
    page_size: int
    requests_per_minute: int
    quota_window_seconds: float
    identity_crosswalk: str | None


class GoogleClassroomSource(CourseSource):
    """The cursor holds per course the course work ids and the graded submission ids."""

    kind = "google_classroom"
    vendor = "Google Classroom"
    options_schema = GoogleClassroomOptions
    settings_type = GoogleClassroomSettings
    settings: GoogleClassroomSettings

    def fingerprint(self) -> str:
        return f"Google Classroom as {self.settings.subject}"

    def client(self) -> HttpClient:
        """A token for the delegated user, paced under Google's per-user quota."""
        s = self.settings
        secret = self.context.resolve_secret(s.service_account_key,
                                             f"{self.system} service-account key")
        info = service_account_info(secret, system=self.system)
        return http_client(
            self.system, s, self.context,
            auth=DelegatedToken(info, SCOPES, s.subject, system=self.system),
            throttle=QuotaWindow(limit=s.requests_per_minute, window=s.quota_window_seconds,
                                 clock=self.context.clock, sleep=self.context.sleep))

    def _api(self) -> str:
        return self.settings.base_url.rstrip("/") + "/v1"

    def check(self) -> str:
        """A token for the delegated user, then ``GET /v1/courses?pageSize=1`` (courses.list)."""
        http = self.client()
        try:
            answer = http.get(self._api() + "/courses", params={"pageSize": 1})
            courses = json_object(answer, system=self.system, what="courses.list").get("courses")
        finally:
            http.session.close()
        seen = "at least one course" if courses else "no course yet"
        return f"signed in to Google Classroom as {self.settings.subject}; {seen} visible"

    def courses(self, http: HttpClient) -> list[Mapping[str, Any]]:
        states = [("courseStates", s) for s in self.settings.course_states or []]
        wanted = self.settings.course_ids
        return [c for c in self._list(http, f"{self._api()}/courses", "courses", states)
                if not wanted or str(c.get("id")) in wanted]

    def course_reader(self, http: HttpClient, course: Mapping[str, Any], crosswalk: Crosswalk,
                      previous: CourseState) -> CourseReader:
        return _CourseReader(self, http, f"{self._api()}/courses/{course['id']}", course,
                             crosswalk, previous)

    def _list(self, http: HttpClient, url: str, member: str,
              params: list[tuple[str, Any]]) -> Iterator[Mapping[str, Any]]:
        """Every entry, by ``nextPageToken``: the server may send fewer than asked, or none."""
        pager = PageTokenPager(http, system=self.system, what=member,
                               size=self.settings.page_size)
        return pager.entries(url, member, params)


class _CourseReader(CourseReader):
    def __init__(self, source: GoogleClassroomSource, http: HttpClient, base: str,
                 course: Mapping[str, Any], crosswalk: Crosswalk,
                 previous: CourseState) -> None:
        self.source, self.http, self.base, self.course = source, http, base, course
        self.crosswalk, self.previous = crosswalk, previous
        self.state = CourseState()
        self.label = f"Classroom course {course['id']}"

    def read(self) -> Iterator[Envelope | Rejection]:
        key = self.source.key
        tz = self.source.context.timezone
        class_id = self._class_id()
        students = self._students()
        items: dict[str, SourceItem] = {}
        label = f"{self.label} courseWork"
        params = [("courseWorkStates", "PUBLISHED")]
        for index, work in enumerate(self.source._list(self.http, f"{self.base}/courseWork",
                                                       "courseWork", params), start=1):
            points = work.get("maxPoints")
            if not isinstance(points, int | float) or points <= 0:
                continue  # ungraded course work carries no evidence
            try:
                due = _due(work, tz)
            except DataError as exc:
                yield Rejection(label, index, "dueDate", exc.message, str(work.get("id", "")))
                continue
            item = SourceItem(key, str(work["id"]), str(work.get("title") or work["id"]),
                              kind="assignment", class_sourced_id=class_id, due_date=due,
                              result_value_min=0.0, result_value_max=float(points))
            items[item.sourced_id] = item
            yield Envelope(item, label, index)
        for item_id in gone(self.previous.items, items):
            yield Envelope(SourceItem(key, item_id, item_id, deleted=True), label, None)

        graded: list[str] = []
        label = f"{self.label} studentSubmissions"
        for index, sub in enumerate(self.source._list(
                self.http, f"{self.base}/courseWork/-/studentSubmissions",
                "studentSubmissions", []), start=1):
            work_id, sid = str(sub.get("courseWorkId", "")), str(sub.get("id", ""))
            grade = sub.get("assignedGrade")  # draftGrade is not returned to the student yet
            if work_id not in items or not isinstance(grade, int | float):
                continue
            user_id = str(sub.get("userId", ""))
            student = students.get(user_id)
            if student is None:
                why = (self._unmatched(user_id) if user_id in students else
                       f"Google user {user_id} is not a student of the course")
                yield Rejection(label, index, "user_id", why, sid,
                                subject=f"user:{user_id}" if user_id in students else "")
                continue
            try:
                when = parse_datetime(str(sub.get("updateTime") or ""), "updateTime", tz)
            except DataError as exc:
                yield Rejection(label, index, "updateTime", exc.message, sid)
                continue
            graded.append(sid)
            yield Envelope(Score(key, sid, work_id, student, float(grade), "fully graded",
                                 when, max_score=items[work_id].result_value_max,
                                 submitted_at=None), label, index)
        for score_id in gone(self.previous.scores, graded):
            yield Envelope(Score(key, score_id, "", StudentRef("sourced_id", ""), None,
                                 "fully graded", None, deleted=True), label, None)
        self.state = CourseState(items=tuple(sorted(items)), scores=tuple(sorted(graded)))

    def _class_id(self) -> str:
        mapped = self.crosswalk.get("class", self.course["id"])
        if mapped:
            return mapped
        for alias in self.source._list(self.http, f"{self.base}/aliases", "aliases", []):
            name = str(alias.get("alias") or "")
            if name.startswith("d:"):
                return name[2:]
        return ""

    def _students(self) -> dict[str, StudentRef | None]:
        """Google user id -> how staging finds the student: crosswalk SIS id, else email."""
        found: dict[str, StudentRef | None] = {}
        for entry in self.source._list(self.http, f"{self.base}/students", "students", []):
            user_id = str(entry.get("userId", ""))
            profile = entry.get("profile") or {}
            email = str(profile.get("emailAddress") or "") if isinstance(profile, Mapping) else ""
            sis = self.crosswalk.get("user", user_id)
            found[user_id] = (StudentRef("sourced_id", sis) if sis else
                              StudentRef("email", email) if email else None)
        return found

    def _unmatched(self, user: str) -> str:
        return (f"Google user {user} has no email on their Classroom profile (is the "
                f"classroom.profile.emails scope delegated?) and no entry in the crosswalk; "
                f"add the student to the identity crosswalk")


def _due(work: Mapping[str, Any], tz: str) -> datetime | None:
    """``dueDate`` {year, month, day} and ``dueTime`` {hours, minutes}, both in UTC."""
    day = work.get("dueDate")
    if not isinstance(day, Mapping):
        return None
    clock = work.get("dueTime") if isinstance(work.get("dueTime"), Mapping) else {}
    assert isinstance(clock, Mapping)
    text = (f"{int(day.get('year', 0)):04d}-{int(day.get('month', 0)):02d}-"
            f"{int(day.get('day', 0)):02d}T{int(clock.get('hours', 0)):02d}:"
            f"{int(clock.get('minutes', 0)):02d}:00Z")
    return parse_datetime(text, "dueDate", tz)
