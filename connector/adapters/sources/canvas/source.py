"""Pull teacher evidence from Canvas LMS: assignments, rubric criteria and grades.

The SIS is the roster of record, so Canvas gives evidence only: assignments
(items) and submissions (scores), never students or enrollments of its own.
Students are named by the SIS id Canvas holds for them (``sis_user_id``, read
from the course's student enrollments) or by the district's crosswalk; a student
with neither is rejected with the reason, never matched by name.

Per course, in one pass:

1. student enrollments (Canvas user id -> SIS id);
2. assignments. Published ones become items; a rubric criterion aligned to an
   outcome with a ``vendor_guid`` (a CASE id as a UUID, ``urn:uuid:`` or the item's
   URI; criteria marked ``ignore_for_scoring`` aside) becomes an item of its own (kind
   ``rubric_criterion``, scored on the criterion's points), so each competency
   gets the evidence scored against it and not the whole assignment's points.
   Items seen before and now gone (deleted or unpublished in Canvas) are deleted
   with their scores;
3. submissions in bulk (``students/submissions?student_ids[]=all``), only those
   graded since the last pass (``graded_since``, exclusive, as Canvas applies it).
   Excused work is exempt (it leaves the evidence), a grade that was cleared
   deletes the score, and missing work (``missing``, or a late policy's
   ``late_policy_status: missing``) is ``not submitted``, whatever score it holds.

After each course a :class:`~connector.adapters.base.Checkpoint` carries the
cursor, so a pull killed in course 40 of 50 resumes at course 40, and nothing
staged before is read or written again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from marshmallow import fields, validate

from connector.adapters.base import Envelope, PathResolver
from connector.adapters.clients import http_client
from connector.adapters.course_pass import CourseReader, CourseSource, CourseState, gone
from connector.adapters.crosswalk import Crosswalk
from connector.adapters.http.client import HttpClient, json_object
from connector.adapters.http.paging import LinkHeaderPager
from connector.adapters.http.throttle import LeakyBucket
from connector.adapters.options import HttpOptions, HttpSettings, PathOption, SecretRef
from connector.adapters.values import parse_datetime
from connector.adapters.vendor_profiles.profile import level_code
from connector.domain.records import LearningObjectiveRef, Score, SourceItem, StudentRef
from connector.errors import DataError, Rejection

STUDENT_STATES = ("active", "invited", "completed", "inactive")


class CanvasOptions(HttpOptions):
    token = SecretRef(required=True, metadata={"description": "an API access token"})
    #: The Canvas account whose courses are read; ``self`` is the token owner's root account.
    account_id = fields.String(load_default="self")
    #: Read only courses of this Canvas enrollment term (its Canvas id); empty reads every term.
    enrollment_term_id = fields.String(load_default=None)
    #: Read only these Canvas course ids; empty reads every course of the account.
    course_ids = fields.List(fields.Integer(), load_default=None)
    #: Entries per page asked of Canvas (Canvas allows at most 100).
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=100))
    #: After the first pass, ask only for work graded since the last one (``graded_since``);
    #: off reads every submission each run (deletions are found either way).
    incremental = fields.Boolean(load_default=True)
    #: A score on an assignment with no points possible (0 or empty) cannot be read as a
    #: level (15 points is not 15%): ``reject`` it with the reason, or treat it as ``ungraded``.
    no_points_possible = fields.String(load_default="reject",
                                       validate=validate.OneOf(["reject", "ungraded"]))
    #: Canvas's ``score`` carries its late policy's deduction. Lateness is a habit, not
    #: mastery: evidence uses ``entered_score`` (``ignore``), unless the district ``apply``-s it.
    late_penalty = fields.String(load_default="ignore",
                                 validate=validate.OneOf(["ignore", "apply"]))
    #: A rubric rating is a level the teacher picked, not a percent (3 of 4 "Proficient" is
    #: not 75%): ``label`` reads the rating's name through the source's ``text_levels`` and
    #: the scale's labels; ``points`` reads its points against the criterion's, by the cuts;
    #: ``mastery`` reads them against the outcome's mastery points: the rating at mastery is
    #: the scale's proficient level, each rating above or below it a level further away.
    rubric_ratings = fields.String(load_default="label",
                                   validate=validate.OneOf(["label", "points", "mastery"]))
    #: The throttle's drain rate (Canvas default 10 units/s) and the budget kept free.
    rate_limit_outflow = fields.Float(load_default=10.0, validate=validate.Range(min=0.1))
    #: Units of the throttle budget to keep free; 0 runs until Canvas refuses, then waits.
    rate_limit_margin = fields.Float(load_default=100.0, validate=validate.Range(min=0))
    #: The identity crosswalk CSV (``system,kind,external_id,sis_id``) for students and
    #: courses Canvas cannot tie to the SIS itself.
    identity_crosswalk = PathOption(kind="file", load_default=None)


@dataclass(frozen=True, kw_only=True)
class CanvasSettings(HttpSettings):
    """:class:`CanvasOptions`, typed."""

    token: str
    account_id: str
    enrollment_term_id: str | None
    course_ids: Sequence[int] | None
    per_page: int
    incremental: bool
    no_points_possible: str
    late_penalty: str
    rubric_ratings: str
    rate_limit_outflow: float
    rate_limit_margin: float
    identity_crosswalk: str | None


class CanvasSource(CourseSource):
    """The cursor holds per course the newest ``graded_at`` and the item ids."""

    kind = "canvas"
    vendor = "Canvas"
    options_schema = CanvasOptions
    settings_type = CanvasSettings
    settings: CanvasSettings

    @classmethod
    def config_defaults(cls, entry: Mapping[str, Any], resolve_path: PathResolver,
                        codes: Sequence[str], proficient: str) -> dict[str, Any]:
        """Read against mastery, Canvas's mastery words mean levels around proficient."""
        if entry.get("rubric_ratings") != "mastery":
            return {}
        return {"score_conversion": {"text_levels": {
            term: level_code(role, codes, proficient) for term, role in MASTERY_TERMS.values()}}}

    def fingerprint(self) -> str:
        return f"{self.settings.base_url} Canvas account {self.settings.account_id}"

    def client(self) -> HttpClient:
        """A bearer token, paced by Canvas's leaky bucket."""
        s = self.settings
        token = self.context.resolve_secret(s.token, f"{self.system} token")
        throttle = LeakyBucket(outflow=s.rate_limit_outflow, margin=s.rate_limit_margin,
                               clock=self.context.clock, sleep=self.context.sleep)
        return http_client(self.system, s, self.context, token=token, throttle=throttle)

    def check(self) -> str:
        """``GET /api/v1/users/self``: whose token this is (Canvas Users API)."""
        http = self.client()
        try:
            me = http.get(self._api() + "/users/self")
            body = json_object(me, system=self.system, what="users/self")
        finally:
            http.session.close()
        return f"signed in to Canvas; the token belongs to user {body.get('id')}"

    def _api(self) -> str:
        return self.settings.base_url.rstrip("/") + "/api/v1"

    def courses(self, http: HttpClient) -> list[Mapping[str, Any]]:
        wanted = self.settings.course_ids
        params: list[tuple[str, Any]] = [("per_page", self.settings.per_page)]
        if self.settings.enrollment_term_id:
            params.append(("enrollment_term_id", self.settings.enrollment_term_id))
        pager = LinkHeaderPager(http, system=self.system, what="courses")
        return [course for course in pager.entries(
                    f"{self._api()}/accounts/{self.settings.account_id}/courses", params)
                if not wanted or int(course.get("id", 0)) in wanted]

    def course_reader(self, http: HttpClient, course: Mapping[str, Any], crosswalk: Crosswalk,
                      previous: CourseState) -> CourseReader:
        return _CourseReader(self, http, course, crosswalk, previous)


class _CourseReader(CourseReader):
    """One course's items and scores, and the state the next pass starts from."""

    def __init__(self, source: CanvasSource, http: HttpClient, course: Mapping[str, Any],
                 crosswalk: Crosswalk, previous: CourseState) -> None:
        self.source, self.http, self.system = source, http, source.system
        self.settings = source.settings
        self.course = course
        self.base = f"{source._api()}/courses/{course['id']}"
        self.crosswalk = crosswalk
        self.previous = previous
        self.state = previous
        self.label = f"Canvas course {course['id']}"
        #: Criterion item id -> the criterion's ratings: (rating id, points, name).
        self.ratings: dict[str, list[tuple[str, float | None, str]]] = {}
        #: Criterion item id -> its outcome's mastery points, where Canvas gives them.
        self.mastery: dict[str, float] = {}

    def read(self) -> Iterator[Envelope | Rejection]:
        key = self.source.key
        students = self._students()
        class_id = self._class_id()
        items: dict[str, SourceItem] = {}
        criteria: dict[str, dict[str, SourceItem]] = {}  # assignment id -> criterion id -> item
        index = 0
        for assignment in self._pages("assignments", [], "assignments"):
            index += 1
            if not assignment.get("published", True) or assignment.get(
                    "workflow_state") in ("unpublished", "deleted"):
                continue  # not visible to students: if it was before, it is deleted below
            try:
                item, aligned = self._items(assignment, class_id)
            except DataError as exc:
                yield Rejection(f"{self.label} assignments", index,
                                str(exc.context.get("field", "")), exc.message,
                                str(assignment.get("id", "")))
                continue
            items[item.sourced_id] = item
            criteria[item.sourced_id] = aligned
            yield Envelope(item, f"{self.label} assignments", index)
            for sub_item in aligned.values():
                yield Envelope(sub_item, f"{self.label} assignments", index)
        current = set(items) | {c.sourced_id for group in criteria.values() for c in group.values()}
        for item_id in gone(self.previous.items, current):
            yield Envelope(SourceItem(key, item_id, item_id, deleted=True),
                           f"{self.label} assignments", None)
        self.state = replace(self.state, items=tuple(sorted(current)))

        since = self.previous.since
        params: list[tuple[str, Any]] = [("student_ids[]", "all"),
                                         ("include[]", "rubric_assessment")]
        if since:
            params.append(("graded_since", since))
        newest = since
        held = False
        label = f"{self.label} submissions"
        for index, sub in enumerate(self._submissions(params, since, items), start=1):
            graded = str(sub.get("graded_at") or "")
            if graded and _later(graded, newest):
                newest = graded
            for entry in self._scores(sub, items, criteria, students, label, index):
                held = held or isinstance(entry, Rejection)
                yield entry
        # Work refused here (an unmatched student) is asked for again next time, so that a
        # crosswalk entry brings it in and until then `connector exceptions` still lists it.
        self.state = replace(self.state, since=since if held else newest)

    # -- pieces -------------------------------------------------------------------------

    def _submissions(self, params: list[tuple[str, Any]], since: str,
                     items: Mapping[str, SourceItem]) -> Iterator[Mapping[str, Any]]:
        """Work graded since the last pass, and all of an assignment new to us.

        An assignment published again (or restored) after the last pass may hold work
        graded before it, which ``graded_since`` would never return.
        """
        seen: set[str] = set()
        for sub in self._pages("students/submissions", params, "submissions"):
            seen.add(str(sub.get("id")))
            yield sub
        new = sorted(set(items) - set(self.previous.items))
        if not since or not new:
            return
        base = [p for p in params if p[0] != "graded_since"]
        for start in range(0, len(new), 100):  # Canvas refuses more than 100 ids at once
            ids = [("assignment_ids[]", aid) for aid in new[start:start + 100]]
            for sub in self._pages("students/submissions", [*base, *ids], "submissions"):
                if str(sub.get("id")) not in seen:
                    yield sub

    def _pages(self, path: str, params: list[tuple[str, Any]],
               what: str) -> Iterator[Mapping[str, Any]]:
        query = [*params, ("per_page", self.settings.per_page)]
        pager = LinkHeaderPager(self.http, system=self.system, what=f"{self.label} {what}")
        yield from pager.entries(f"{self.base}/{path}", query)

    def _students(self) -> dict[str, str | None]:
        """Canvas user id -> SIS id (crosswalk first), for every student of the course."""
        params = [("type[]", "StudentEnrollment"), *(("state[]", s) for s in STUDENT_STATES)]
        found: dict[str, str | None] = {}
        for enrollment in self._pages("enrollments", params, "enrollments"):
            user_id = str(enrollment.get("user_id", ""))
            user = enrollment.get("user") or {}
            sis = (self.crosswalk.get("user", user_id) or enrollment.get("sis_user_id")
                   or (user.get("sis_user_id") if isinstance(user, Mapping) else None))
            if sis or user_id not in found:
                found[user_id] = str(sis) if sis else None
        return found

    def _class_id(self) -> str:
        """The SIS class this course's evidence belongs to: crosswalk, else sis_course_id."""
        return (self.crosswalk.get("class", self.course["id"])
                or str(self.course.get("sis_course_id") or ""))

    def _items(self, assignment: Mapping[str, Any],
               class_id: str) -> tuple[SourceItem, dict[str, SourceItem]]:
        key = self.source.key
        aid = str(assignment["id"])
        tz = self.source.context.timezone
        due = parse_datetime(str(assignment.get("due_at") or ""), "due_at", tz)
        points = assignment.get("points_possible")
        maximum = float(points) if isinstance(points, int | float) and points > 0 else None
        aligned: dict[str, SourceItem] = {}
        for criterion in assignment.get("rubric") or []:
            # An outcome's vendor_guid names its CASE item as a UUID, urn:uuid:... or the
            # item's URI: mapping reads every form. A guid that names no imported item makes
            # the criterion an unmapped item with the reason, never one dropped in silence.
            guid = str(criterion.get("vendor_guid") or "").strip()
            crit_points = criterion.get("points")
            if (not guid or criterion.get("ignore_for_scoring") is True
                    or not isinstance(crit_points, int | float) or crit_points <= 0):
                continue  # not aligned to a competency: the assignment's score stands
            cid = str(criterion.get("id"))
            aligned[cid] = SourceItem(
                key, f"{aid}:{cid}", f"{assignment.get('name', '')}: "
                f"{criterion.get('description', '')}", kind="rubric_criterion",
                class_sourced_id=class_id, due_date=due, result_value_min=0.0,
                result_value_max=float(crit_points),
                learning_objectives=(LearningObjectiveRef("case", guid),))
            self.ratings[f"{aid}:{cid}"] = [
                (str(r.get("id", "")), r.get("points") if isinstance(r.get("points"), int | float)
                 else None, str(r.get("description") or "").strip())
                for r in criterion.get("ratings") or [] if isinstance(r, Mapping)]
            mastery = criterion.get("mastery_points")
            if isinstance(mastery, int | float) and 0 < mastery <= crit_points:
                self.mastery[f"{aid}:{cid}"] = float(mastery)
        item = SourceItem(key, aid, str(assignment.get("name") or aid), kind="assignment",
                          class_sourced_id=class_id, due_date=due,
                          result_value_min=0.0 if maximum else None, result_value_max=maximum)
        return item, aligned

    def _scores(self, sub: Mapping[str, Any], items: Mapping[str, SourceItem],
                criteria: Mapping[str, Mapping[str, SourceItem]],
                students: Mapping[str, str | None], label: str,
                index: int) -> Iterator[Envelope | Rejection]:
        key = self.source.key
        aid, user_id, sid = (str(sub.get("assignment_id", "")), str(sub.get("user_id", "")),
                             str(sub.get("id", "")))
        if aid not in items:
            return  # an assignment Canvas no longer publishes: its item was deleted above
        sis = students.get(user_id)
        if not sis:
            why = ("is not a student of the course" if user_id not in students else
                   "has no SIS id in Canvas and no entry in the crosswalk")
            yield Rejection(label, index, "user_id", f"Canvas user {user_id} {why}; add the "
                            f"student to the identity crosswalk or fix sis_user_id in Canvas",
                            sid, subject=f"user:{user_id}" if user_id in students else "")
            return
        tz = self.source.context.timezone
        try:
            graded = parse_datetime(str(sub.get("graded_at") or ""), "graded_at", tz)
            submitted = parse_datetime(str(sub.get("submitted_at") or ""), "submitted_at", tz)
        except DataError as exc:
            yield Rejection(label, index, str(exc.context.get("field", "")), exc.message, sid)
            return
        score = sub.get("score")
        if (self.settings.late_penalty == "ignore"
                and isinstance(sub.get("entered_score"), int | float)):
            score = sub["entered_score"]  # the grade before the late policy's deduction
        late = sub.get("late") is True
        excused = bool(sub.get("excused"))
        # Past due and not turned in: Canvas's ``missing``, or a late policy's "missing"
        # status (which may have put an automatic score on it). Not evidence of mastery:
        # the district's missing_work rule decides what it counts as.
        missing = not excused and (sub.get("missing") is True
                                   or sub.get("late_policy_status") == "missing")
        student = StudentRef("sourced_id", sis)
        attempt = int(sub.get("attempt") or 1)
        if score is None and not excused and not missing:
            if sub.get("workflow_state") != "graded":
                return  # not graded yet: nothing to say
            cleared = True  # graded with no score: the teacher cleared the grade
        else:
            cleared = False
        status = "exempt" if excused else "not submitted" if missing else "fully graded"
        value = None if excused or score is None else float(score)
        if value is not None and not missing and items[aid].result_value_max is None:
            if self.settings.no_points_possible == "reject":
                yield Rejection(label, index, "points_possible",
                                f"assignment {aid} has no points possible, so a score of "
                                f"{value:g} cannot be read as a level; give it points in "
                                f"Canvas, or set no_points_possible: ungraded", sid)
        else:
            yield Envelope(Score(key, sid, aid, student, value, status, graded,
                                 max_score=items[aid].result_value_max, attempt=attempt,
                                 submitted_at=submitted, deleted=cleared, late=late),
                           label, index)
        assessment = sub.get("rubric_assessment") or {}
        for cid, criterion_item in criteria.get(aid, {}).items():
            rated = assessment.get(cid) if isinstance(assessment, Mapping) else None
            points = rated.get("points") if isinstance(rated, Mapping) else None
            if points is None and not excused and not cleared and not missing:
                continue  # this criterion was not rated
            value = None if excused or points is None else float(points)
            named = self._rating(criterion_item.sourced_id, rated) if value is not None else ""
            yield Envelope(Score(
                key, f"{sid}:{cid}", criterion_item.sourced_id, student,
                None if named else value, status, graded,
                max_score=criterion_item.result_value_max, attempt=attempt,
                submitted_at=submitted, deleted=cleared, late=late, text_score=named),
                label, index)

    def _rating(self, item_id: str, rated: Any) -> str:
        """The rating the teacher picked as a text score, when ratings are not read as points.

        By name (``label``): by ``rating_id``; without one, the only rating worth the
        points given. Points no rating is worth (a range, a custom score) are read as
        points. Against mastery (``mastery``): see :func:`mastery_term`.
        """
        if not isinstance(rated, Mapping):
            return ""
        if self.settings.rubric_ratings == "mastery":
            mastery, points = self.mastery.get(item_id), rated.get("points")
            if mastery is None or not isinstance(points, int | float):
                return ""  # no mastery points from Canvas: read as points
            ladder = [p for _r, p, _n in self.ratings.get(item_id, []) if p is not None]
            return mastery_term(float(points), mastery, ladder)
        if self.settings.rubric_ratings != "label":
            return ""
        ratings = self.ratings.get(item_id, [])
        chosen = [name for rid, _p, name in ratings if rated.get("rating_id") and
                  rid == str(rated["rating_id"])]
        if not chosen:
            chosen = [name for _r, points, name in ratings if points == rated.get("points")]
        return chosen[0] if len(chosen) == 1 and chosen[0] else ""


#: How far a rating is from the outcome's mastery rating, in Canvas's Learning Mastery words,
#: and the scale role each stands for (the district's ``text_levels`` may say otherwise).
MASTERY_TERMS = {1: ("Exceeds Mastery", "above"), 0: ("Meets Mastery", "proficient"),
                 -1: ("Near Mastery", "below"), -2: ("Well Below Mastery", "lowest")}


def mastery_term(points: float, mastery: float, ladder: list[float]) -> str:
    """A rating's place against mastery: at it, or how many of the criterion's ratings away.

    The mastery rating is the lowest rating worth at least ``mastery`` points; a rating
    one step above it exceeds mastery, one step below is near it, further below is well
    below. Steps are the criterion's own ratings (``ladder``), so a 0-4 and a 0-10
    rubric read alike.

    >>> [mastery_term(p, 3, [4, 3, 2, 1, 0]) for p in (4, 3, 2, 1, 0)]
    ['Exceeds Mastery', 'Meets Mastery', 'Near Mastery', 'Well Below Mastery', 'Well Below Mastery']
    >>> mastery_term(7, 6, [10, 8, 6, 4])   # between ratings: at least mastery
    'Meets Mastery'
    """
    steps = sorted(set(ladder) | {mastery})
    if points >= mastery:
        offset = sum(1 for p in steps if mastery < p <= points)
    else:
        offset = -sum(1 for p in steps if points <= p < mastery)
    return MASTERY_TERMS[max(-2, min(1, offset))][0]


def _later(a: str, b: str) -> bool:
    if not b:
        return True
    try:
        return _instant(a) > _instant(b)
    except ValueError:
        return a > b


def _instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
