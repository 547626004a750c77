"""A Schoology school for the sample district: a course and section per SIS class.

The section's ``section_school_code`` is the class's sourcedId; students are
enrolled with their SIS id as ``school_uid``, beside a teacher (``admin: 1``);
each section has published assignments on points (the shared district's tasks and
marks, tests/fakes/lms_district.py), one unpublished, one with no points.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.lms_district import POINTS, due, marks, title
from tests.fakes.schoology_server import FakeSchoology


def seed(fake: FakeSchoology, plan: dict[str, tuple[list[str], list[str]]], *,
         graded: int = 3, seed_value: int = 2026) -> None:
    """The shared district's tasks and marks, plus an unscored and an unpublished one."""
    common = marks(plan, tasks=graded, seed_value=seed_value)
    enrollment_id = 44000000
    for number, (klass, (students, _competencies)) in enumerate(sorted(plan.items())):
        course_id, section_id = str(1400000 + number), str(4300000 + number)
        fake.courses.append({"id": course_id, "title": f"Course {klass}",
                             "course_code": klass.upper(), "building_id": "344232"})
        fake.sections[course_id] = [{
            "id": section_id, "course_title": f"Course {klass}", "course_id": course_id,
            "section_title": "Section 1", "section_school_code": klass, "school_id": "344232",
            "active": 1, "grading_periods": [13011]}]
        rows: list[dict[str, Any]] = [{"id": str(enrollment_id), "uid": "45552",
                                       "school_uid": "t-1", "admin": 1, "status": "1",
                                       "name_display": "Teacher"}]
        by_student = {}
        for sis in students:
            enrollment_id += 1
            by_student[sis] = enrollment_id
            rows.append({"id": str(enrollment_id), "uid": str(48000 + enrollment_id % 10000),
                         "school_uid": sis, "admin": 0, "status": "1",
                         "name_display": f"Student {enrollment_id}"})
        enrollment_id += 1
        fake.enrollments[section_id] = rows
        work = []
        for k in range(graded + 2):
            work.append({
                "id": 5600000 + number * 10 + k, "title": title(klass, k),
                "due": due(number, k).strftime("%Y-%m-%d %H:%M:%S"), "grading_scale": "0",
                "max_points": "0" if k == graded else f"{POINTS:g}",
                "published": 0 if k == graded + 1 else 1, "type": "assignment",
                "grading_category": "4341"})
        fake.assignments[section_id] = work
        grades = []
        for k, entry in enumerate(work):
            for sis in students:
                mark = common.get((klass, k, sis))
                grades.append({
                    "enrollment_id": by_student[sis], "assignment_id": entry["id"],
                    "grade": mark.points if mark else 5, "exception": 0,
                    "max_points": int(entry["max_points"]), "is_final": 0,
                    "timestamp": int(mark.graded_at.timestamp()) if mark else 1757000000,
                    "comment": "", "type": "assignment", "school_uid": sis})
        fake.grades[section_id] = grades


def expected_scores(fake: FakeSchoology) -> dict[str, tuple[str, str, float | None, str]]:
    """Score key -> (assignment, student SIS id, points, status)."""
    out: dict[str, tuple[str, str, float | None, str]] = {}
    for section_id, rows in fake.grades.items():
        work = {a["id"]: a for a in fake.assignments[section_id]}
        sis = {int(e["id"]): e["school_uid"] for e in fake.enrollments[section_id]}
        for g in rows:
            entry = work.get(g["assignment_id"])
            if entry is None or entry["published"] == 0 or float(entry["max_points"]) <= 0:
                continue
            key = f"{section_id}:{g['assignment_id']}:{g['enrollment_id']}"
            if g["exception"] == 1:
                out[key] = (str(g["assignment_id"]), sis[g["enrollment_id"]], None, "exempt")
            elif g["grade"] is not None and g["exception"] == 0:
                out[key] = (str(g["assignment_id"]), sis[g["enrollment_id"]],
                            float(g["grade"]), "fully graded")
    return out
