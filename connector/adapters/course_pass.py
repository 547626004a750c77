"""The state an LMS pull keeps between runs: per course, and for a pass in progress.

LMS sources read course by course. For each course they remember what the next
pass needs (a ``graded_since`` mark where the API has one; the ids of the items
and scores they yielded, to find what disappeared), and for a pass that has not
ended, which courses are done, so that a killed run resumes where it stopped.
The whole of it is the source's cursor, stored by the shell with each
:class:`~connector.adapters.base.Checkpoint`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from connector.adapters.base import AdapterContext, Checkpoint, SourceAdapter

#: Each API's "changed since" mark in a course's state (Canvas ``graded_since``, Schoology
#: ``since``). A full re-read forgets every one of them, whichever source wrote it.
CHANGED_SINCE = ("graded_since", "since")


class CoursePass:
    def __init__(self) -> None:
        self.courses: dict[str, dict[str, Any]] = {}
        self.done: list[str] = []

    def resume_from(self, cursor: Mapping[str, Any], *, incremental: bool = True) -> None:
        self.courses = {str(k): dict(v) for k, v in (cursor.get("courses") or {}).items()}
        self.done = [str(c) for c in cursor.get("pass_done") or []]
        if not incremental:  # a full re-read: forget the marks, keep the ids to diff against
            self._forget_marks()

    def read_in_full(self) -> None:
        """Forget the "changed since" marks and any pass in progress; keep ids to diff against."""
        self.done = []
        self._forget_marks()

    def _forget_marks(self) -> None:
        for state in self.courses.values():
            for mark in CHANGED_SINCE:
                state.pop(mark, None)

    def cursor(self) -> dict[str, Any]:
        return {"courses": self.courses}

    def is_done(self, course_id: object) -> bool:
        return str(course_id) in self.done

    def state(self, course_id: object) -> Mapping[str, Any]:
        return self.courses.get(str(course_id), {})

    def finish(self, course_id: object, state: Mapping[str, Any]) -> Checkpoint:
        """The course is read and its records yielded: the point a killed run resumes from."""
        self.courses[str(course_id)] = dict(state)
        self.done.append(str(course_id))
        return Checkpoint({"courses": self.courses, "pass_done": list(self.done)})

    def end(self) -> None:
        """Every course was read: the next run starts a new pass."""
        self.done = []


def gone(previous: Iterable[str], current: Iterable[str]) -> list[str]:
    """Ids yielded by the last pass and absent now: deleted at the source."""
    return sorted(set(previous) - set(current))


class CoursePassSource(SourceAdapter):
    """A source that reads course by course and keeps a :class:`CoursePass` as its cursor."""

    def __init__(self, key: str, options: Mapping[str, Any], context: AdapterContext) -> None:
        super().__init__(key, options, context)
        self._pass = CoursePass()

    def resume_from(self, cursor: Mapping[str, Any]) -> None:
        self._pass.resume_from(cursor, incremental=bool(self.options.get("incremental", True)))

    def cursor(self) -> Mapping[str, Any]:
        return self._pass.cursor()

    def read_in_full(self) -> None:
        self._pass.read_in_full()
