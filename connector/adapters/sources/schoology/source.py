"""Pull teacher evidence from Schoology: published assignments and their grades, per section.

Schoology signs every request with two-legged OAuth 1.0a (consumer key and
secret, no token; requests-oauthlib, HMAC-SHA1, a fresh nonce per request).
Lists page by ``start``/``limit``, at most 200 a page, following ``links.next``.
Its request limit (about 50 requests per 5 seconds per key, not officially
published) is kept on our side; a refusal (429, or the limit's message in the
body) is waited out.

Students are named by ``school_uid`` (the SIS id Schoology holds), found through
the section's enrollments because grades refer to enrollments, not users; the
section is tied to its SIS class by ``section_school_code``. The identity
crosswalk overrides both. Grades are read per section; after a first pass only
those changed since (``timestamp``, the only date filter Schoology has).
Assignments are listed in full every pass: one that disappeared was deleted,
and takes its grades with it. Excused grades are exempt; incomplete and missing
ones carry no score and are not evidence.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import requests
from marshmallow import fields, validate
from requests_oauthlib import OAuth1

from connector.adapters.base import Envelope
from connector.adapters.clients import http_client
from connector.adapters.course_pass import CourseReader, CourseSource, CourseState, gone
from connector.adapters.crosswalk import Crosswalk
from connector.adapters.http.client import HttpClient, json_object
from connector.adapters.http.paging import BodyLinkPager
from connector.adapters.http.throttle import QuotaWindow
from connector.adapters.options import HttpOptions, HttpSettings, PathOption, SecretRef
from connector.adapters.values import parse_datetime
from connector.domain.records import Score, SourceItem, StudentRef
from connector.errors import DataError, Rejection

PAGE_LIMIT = 200
LIMIT_MESSAGE = "request limit"
EXCUSED, INCOMPLETE, MISSING = 1, 2, 3


class SchoologyOptions(HttpOptions):
    #: The API root, version included.
    base_url = fields.Url(load_default="https://api.schoology.com/v1", require_tld=False)
    #: The API consumer key of a Schoology system administrator (two-legged OAuth 1.0a).
    consumer_key = SecretRef(required=True)
    #: The consumer secret that goes with ``consumer_key``.
    consumer_secret = SecretRef(required=True)
    #: Read only these Schoology course ids; empty reads every course the key can see.
    course_ids = fields.List(fields.String(), load_default=None)
    #: Read only the courses of this Schoology building (school) id.
    building_id = fields.String(load_default=None)
    #: After the first pass, ask only for grades changed since the last one (``timestamp``);
    #: off reads every grade each run.
    incremental = fields.Boolean(load_default=True)
    #: Schoology allows about 50 requests in 5 seconds per key; stay under it.
    requests_per_window = fields.Integer(load_default=40, validate=validate.Range(min=1))
    #: The length of that window, in seconds.
    window_seconds = fields.Float(load_default=5.0, validate=validate.Range(min=0.01))
    #: The identity crosswalk CSV for students and sections Schoology cannot tie to the SIS.
    identity_crosswalk = PathOption(kind="file", load_default=None)


class SchoologyQuota(QuotaWindow):
    """Schoology's limit, refused as 429 or as its message in an otherwise normal body."""

    def refused(self, response: requests.Response) -> float | None:
        if response.status_code == 429 or (
                response.status_code == 200 and len(response.content) < 300
                and LIMIT_MESSAGE in response.text and "api" in response.text.lower()):
            with self.lock:
                self.refusals += 1
            return self.window
        return None


@dataclass(frozen=True, kw_only=True)
class SchoologySettings(HttpSettings):
    """:class:`SchoologyOptions`, typed."""

    consumer_key: str
    consumer_secret: str
    course_ids: Sequence[str] | None
    building_id: str | None
    incremental: bool
    requests_per_window: int
    window_seconds: float
    identity_crosswalk: str | None


class SchoologySource(CourseSource):
    """The cursor holds per section the newest grade ``timestamp`` and the assignment ids."""

    kind = "schoology"
    vendor = "Schoology"
    options_schema = SchoologyOptions
    settings_type = SchoologySettings
    settings: SchoologySettings

    def fingerprint(self) -> str:
        return f"{self.settings.base_url} Schoology"

    def client(self) -> HttpClient:
        """Two-legged OAuth 1.0a on the session, paced under Schoology's request limit."""
        s = self.settings
        key = self.context.resolve_secret(s.consumer_key, f"{self.system} consumer key")
        secret = self.context.resolve_secret(s.consumer_secret, f"{self.system} consumer secret")
        session = requests.Session()
        session.auth = OAuth1(key, client_secret=secret, signature_type="AUTH_HEADER")
        session.headers["Accept"] = "application/json"
        return http_client(self.system, s, self.context, session=session, throttle=SchoologyQuota(
            limit=s.requests_per_window, window=s.window_seconds,
            clock=self.context.clock, sleep=self.context.sleep))

    def _api(self) -> str:
        return self.settings.base_url.rstrip("/")

    def check(self) -> str:
        """``GET /v1/courses?limit=1``: the consumer key signs, and a course list comes back."""
        http = self.client()
        try:
            answer = http.get(self._api() + "/courses", params={"start": 0, "limit": 1})
            body = json_object(answer, system=self.system, what="the course list")
        finally:
            http.session.close()
        total = body.get("total")
        return f"signed in to Schoology; {total if total is not None else 'some'} course(s) visible"

    def courses(self, http: HttpClient) -> list[Mapping[str, Any]]:
        """The active sections of the wanted courses: Schoology keeps grades per section."""
        wanted, api = self.settings.course_ids, self._api()
        params = {"building_id": self.settings.building_id} if self.settings.building_id else {}
        sections: list[Mapping[str, Any]] = []
        for course in self.pages(http, f"{api}/courses", "course", params):
            if wanted and str(course.get("id")) not in wanted:
                continue
            sections.extend(self.pages(http, f"{api}/courses/{course['id']}/sections",
                                       "section", {}))
        return [s for s in sections if str(s.get("active", 1)) != "0"]

    def course_reader(self, http: HttpClient, course: Mapping[str, Any], crosswalk: Crosswalk,
                      previous: CourseState) -> CourseReader:
        return _SectionReader(self, http, f"{self._api()}/sections/{course['id']}", course,
                              crosswalk, previous)

    def pages(self, http: HttpClient, url: str, member: str,
              params: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        """Every entry of a list, ``limit`` 200 a page, by ``links.next`` on the same host."""
        pager = BodyLinkPager(http, system=self.system, what=member, size=PAGE_LIMIT)
        return pager.entries(url, member, params)


class _SectionReader(CourseReader):
    def __init__(self, source: SchoologySource, http: HttpClient, base: str,
                 section: Mapping[str, Any], crosswalk: Crosswalk,
                 previous: CourseState) -> None:
        self.source, self.http, self.base, self.section = source, http, base, section
        self.crosswalk, self.previous = crosswalk, previous
        self.state = previous
        self.label = f"Schoology section {section['id']}"
        self.uids: dict[str, str] = {}  # enrollment id -> user uid, what a link names

    def read(self) -> Iterator[Envelope | Rejection]:
        key, tz = self.source.key, self.source.context.timezone
        class_id = (self.crosswalk.get("class", self.section["id"])
                    or str(self.section.get("section_school_code") or ""))
        students = self._students()
        items: dict[str, SourceItem] = {}
        label = f"{self.label} assignments"
        for index, work in enumerate(self.source.pages(
                self.http, f"{self.base}/assignments", "assignment", {}), start=1):
            if str(work.get("published", 1)) == "0":
                continue
            try:
                points = float(work.get("max_points") or 0)
                due = parse_datetime(str(work.get("due") or ""), "due", tz,
                                     fmt="%Y-%m-%d %H:%M:%S")
            except DataError as exc:
                yield Rejection(label, index, "due", exc.message, str(work.get("id", "")))
                continue
            except ValueError:
                yield Rejection(label, index, "max_points", "'max_points' is not a number",
                                str(work.get("id", "")))
                continue
            if points <= 0:
                continue  # not scored: not evidence
            item = SourceItem(key, str(work["id"]), str(work.get("title") or work["id"]),
                              kind="assignment", class_sourced_id=class_id, due_date=due,
                              result_value_min=0.0, result_value_max=points)
            items[item.sourced_id] = item
            yield Envelope(item, label, index)
        for item_id in gone(self.previous.items, items):
            yield Envelope(SourceItem(key, item_id, item_id, deleted=True), label, None)
        self.state = replace(self.state, items=tuple(sorted(items)))

        since = int(self.previous.since or 0)
        newest = since
        held = False  # a refused grade keeps the mark: it is asked for again next time
        label = f"{self.label} grades"
        for index, row in enumerate(self._changed_grades(since, items), start=1):
            aid, enrollment = str(row.get("assignment_id", "")), str(row.get("enrollment_id", ""))
            if aid not in items:
                continue
            stamp = int(row.get("timestamp") or 0)
            newest = max(newest, stamp)
            score_id = f"{self.section['id']}:{aid}:{enrollment}"
            student = students.get(enrollment)
            if student is None:
                why = (f"Schoology enrollment {enrollment} has no school_uid and no entry in "
                       f"the crosswalk; add the student to the identity crosswalk"
                       if enrollment in students else
                       f"Schoology enrollment {enrollment} is not a student of the section")
                held = True
                uid = self.uids.get(enrollment, "")
                yield Rejection(label, index, "user_id", why, score_id,
                                subject=f"user:{uid}" if uid else "")
                continue
            exception = int(row.get("exception") or 0)
            grade = row.get("grade")
            when = parse_datetime(_iso(stamp), "timestamp", tz) if stamp else None
            if exception == EXCUSED:
                yield Envelope(Score(key, score_id, aid, student, None, "exempt", when,
                                     max_score=items[aid].result_value_max), label, index)
            elif exception == MISSING:
                # Not turned in: not evidence of mastery; the missing_work rule decides.
                yield Envelope(Score(key, score_id, aid, student, None, "not submitted", when,
                                     max_score=items[aid].result_value_max), label, index)
            elif exception == INCOMPLETE or grade in (None, ""):
                yield Envelope(Score(key, score_id, aid, student, None, "fully graded", when,
                                     deleted=True), label, index)  # no grade (any more)
            else:
                try:
                    value = float(grade)
                except (TypeError, ValueError):
                    held = True
                    yield Rejection(label, index, "grade", f"'grade' is not a number: {grade!r}",
                                    score_id)
                    continue
                maximum = row.get("max_points")
                yield Envelope(Score(
                    key, score_id, aid, student, value, "fully graded", when,
                    max_score=float(maximum) if maximum not in (None, "") else
                    items[aid].result_value_max, comment=str(row.get("comment") or "")),
                    label, index)
        mark = since if held else newest
        self.state = replace(self.state, since=str(mark) if mark else "")

    def _changed_grades(self, since: int,
                        items: Mapping[str, SourceItem]) -> Iterator[Mapping[str, Any]]:
        """Grades changed since the last pass, and every grade of an assignment new to us.

        An assignment published (or restored) after the last pass may hold grades
        entered before it, which a ``timestamp`` filter would never return.
        """
        if not since:
            yield from self._grade_rows({})
            return
        yield from self._grade_rows({"timestamp": since})
        for aid in sorted(set(items) - set(self.previous.items)):
            yield from self._grade_rows({"assignment_id": aid})

    def _grade_rows(self, params: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        for block in self.source.pages(self.http, f"{self.base}/grades", "grades", params):
            rows = block.get("grade") or []
            yield from (r for r in rows if isinstance(r, Mapping))

    def _students(self) -> dict[str, StudentRef | None]:
        """Enrollment id -> student (grades name enrollments): crosswalk, else school_uid."""
        found: dict[str, StudentRef | None] = {}
        for entry in self.source.pages(self.http, f"{self.base}/enrollments", "enrollment", {}):
            if str(entry.get("admin", 0)) == "1":
                continue  # teachers and section admins
            uid, enrollment = str(entry.get("uid", "")), str(entry.get("id", ""))
            sis = self.crosswalk.get("user", uid) or str(entry.get("school_uid") or "")
            found[enrollment] = StudentRef("sourced_id", sis) if sis else None
            self.uids[enrollment] = uid
        return found


def _iso(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat()
