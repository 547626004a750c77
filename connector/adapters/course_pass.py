"""Reading an LMS course by course, and the state each course keeps between runs.

LMS sources read course by course (a Canvas course, a Classroom course, a
Schoology section). For each course they remember what the next pass needs, as
a :class:`CourseState`: the API's "changed since" mark where it has one, and the
ids of the items and scores they yielded, to find what disappeared. For a pass
that has not ended they remember which courses are done, so that a killed run
resumes where it stopped. The whole of it is the source's cursor, stored by the
shell with each :class:`~connector.adapters.base.Checkpoint`.

:class:`CourseSource` is the loop every LMS source shares: build the client, load
the identity crosswalk, list the courses, skip those this pass already read,
read each one and checkpoint it. A source writes only what differs: its client,
its course list and how one course is read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from connector.adapters.base import AdapterContext, Checkpoint, Envelope, SourceAdapter
from connector.adapters.crosswalk import Crosswalk, load_crosswalk
from connector.adapters.http.client import HttpClient
from connector.errors import Rejection


@dataclass(frozen=True)
class CourseState:
    """What one course's next pass starts from.

    ``since`` is the API's own "changed since" mark, as the API writes it (Canvas
    ``graded_at``, an ISO time; Schoology ``timestamp``, Unix seconds), or empty
    when the next pass reads everything. ``items`` and ``scores`` are the ids the
    last pass yielded, so that those absent now are deleted.
    """

    since: str = ""
    items: tuple[str, ...] = ()
    scores: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CourseState:
        """Read a stored state; cursors written before the mark had one name still load."""
        since = raw.get("since", raw.get("graded_since"))  # Canvas's older key
        return cls(since=str(since) if since not in (None, 0) else "",
                   items=tuple(str(i) for i in raw.get("items") or ()),
                   scores=tuple(str(s) for s in raw.get("scores") or ()))

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since, "items": list(self.items), "scores": list(self.scores)}


class CoursePass:
    """Per-course states and the courses a pass in progress has finished."""

    def __init__(self) -> None:
        self.courses: dict[str, CourseState] = {}
        self.done: list[str] = []

    def resume_from(self, cursor: Mapping[str, Any], *, incremental: bool = True) -> None:
        self.courses = {str(k): CourseState.from_json(v)
                        for k, v in (cursor.get("courses") or {}).items()
                        if isinstance(v, Mapping)}
        self.done = [str(c) for c in cursor.get("pass_done") or []]
        if not incremental:  # a full re-read: forget the marks, keep the ids to diff against
            self._forget_marks()

    def read_in_full(self) -> None:
        """Forget the "changed since" marks and any pass in progress; keep ids to diff against."""
        self.done = []
        self._forget_marks()

    def _forget_marks(self) -> None:
        self.courses = {k: replace(v, since="") for k, v in self.courses.items()}

    def cursor(self) -> dict[str, Any]:
        return {"courses": {k: v.to_json() for k, v in self.courses.items()}}

    def is_done(self, course_id: object) -> bool:
        return str(course_id) in self.done

    def state(self, course_id: object) -> CourseState:
        return self.courses.get(str(course_id), CourseState())

    def finish(self, course_id: object, state: CourseState) -> Checkpoint:
        """The course is read and its records yielded: the point a killed run resumes from."""
        self.courses[str(course_id)] = state
        self.done.append(str(course_id))
        return Checkpoint({**self.cursor(), "pass_done": list(self.done)})

    def end(self) -> None:
        """Every course was read: the next run starts a new pass."""
        self.done = []


def gone(previous: Iterable[str], current: Iterable[str]) -> list[str]:
    """Ids yielded by the last pass and absent now: deleted at the source."""
    return sorted(set(previous) - set(current))


class CourseReader(ABC):
    """One course's read: its records and rejections, then the state its next pass needs."""

    #: Set by :meth:`read` as it goes; final once the read is exhausted.
    state: CourseState

    @abstractmethod
    def read(self) -> Iterator[Envelope | Rejection]:
        """Yield the course's records and rejections."""


class CourseSource(SourceAdapter):
    """A source that reads course by course and keeps a :class:`CoursePass` as its cursor.

    Subclasses name their ``vendor``, build their client, list their
    courses and read one course. ``settings`` must have ``identity_crosswalk``, and
    ``incremental`` where the API can be asked for what changed since a mark.
    """

    def __init__(self, key: str, options: Mapping[str, Any], context: AdapterContext) -> None:
        super().__init__(key, options, context)
        self._pass = CoursePass()

    def resume_from(self, cursor: Mapping[str, Any]) -> None:
        # A source whose API has no "changed since" filter (Classroom) has no such option:
        # it reads every course in full each pass anyway.
        incremental = bool(getattr(self.settings, "incremental", True))
        self._pass.resume_from(cursor, incremental=incremental)

    def cursor(self) -> Mapping[str, Any]:
        return self._pass.cursor()

    def read_in_full(self) -> None:
        self._pass.read_in_full()

    def crosswalk(self) -> Crosswalk:
        """The district's identity crosswalk for this source, with the identity queue's links.

        The file wins where both name a user: it is the district's reviewed configuration,
        and a link is only ever made for a user the file did not match.
        """
        path = self.settings.identity_crosswalk
        found = load_crosswalk(self.context.resolve_path(path) if path else None, self.key)
        linked = {("user", user): sis for user, sis in self.context.identity_links.items()}
        return Crosswalk({**linked, **found.entries}) if linked else found

    def read(self) -> Iterator[Envelope | Rejection | Checkpoint]:
        http = self.client()
        try:
            crosswalk = self.crosswalk()
            for course in self.courses(http):
                course_id = course["id"]
                if self._pass.is_done(course_id):
                    continue
                reader = self.course_reader(http, course, crosswalk,
                                            self._pass.state(course_id))
                yield from reader.read()
                yield self._pass.finish(course_id, reader.state)
            self._pass.end()
        finally:
            http.session.close()

    @abstractmethod
    def client(self) -> HttpClient:
        """The vendor's client: auth, retries and throttle from the settings."""

    @abstractmethod
    def courses(self, http: HttpClient) -> list[Mapping[str, Any]]:
        """The courses (sections) to read, each with an ``id``, in a stable order."""

    @abstractmethod
    def course_reader(self, http: HttpClient, course: Mapping[str, Any], crosswalk: Crosswalk,
                      previous: CourseState) -> CourseReader:
        """The reader of one course, starting from the state its last pass left."""
