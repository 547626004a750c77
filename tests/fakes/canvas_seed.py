"""A Canvas instance for the sample district (or a generated one), deterministic by seed.

Each SIS class becomes a Canvas course whose ``sis_course_id`` is the class's
sourcedId; its students are enrolled with their SIS ids; each course has a few
assignments whose rubric criteria are aligned to outcomes carrying the class's
CASE competencies as ``vendor_guid``; every student has a graded submission with
a rubric assessment. Written from Canvas's documented shapes (see
tests/fakes/canvas_server.py), apart from the adapter's code.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.fakes.canvas_server import FakeCanvas
from tests.fakes.lms_district import POINTS, due, iso, marks, title


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def sample_plan(oneroster: Path) -> dict[str, tuple[list[str], list[str]]]:
    """SIS class -> (its students' SIS ids, the CASE competencies its line items assess)."""
    students: dict[str, list[str]] = defaultdict(list)
    for row in _rows(oneroster / "enrollments.csv"):
        if row["role"] == "student":
            students[row["classSourcedId"]].append(row["userSourcedId"])
    item_class = {row["sourcedId"]: row["classSourcedId"]
                  for row in _rows(oneroster / "lineItems.csv")}
    competencies: dict[str, list[str]] = defaultdict(list)
    for row in _rows(oneroster / "lineItemLearningObjectiveIds.csv"):
        klass = item_class[row["lineItemSourcedId"]]
        if row["learningObjectiveId"] not in competencies[klass]:
            competencies[klass].append(row["learningObjectiveId"])
    return {klass: (sorted(students[klass]), competencies[klass]) for klass in sorted(students)
            if competencies[klass]}


def generated_plan(courses: int, students: int,
                   competencies: int = 6) -> dict[str, tuple[list[str], list[str]]]:
    return {f"cls-{c:03d}": ([f"S{c:03d}{s:03d}" for s in range(students)],
                             [f"00000000-0000-4000-8000-{c * 100 + k:012d}"
                              for k in range(competencies)])
            for c in range(courses)}


def seed(fake: FakeCanvas, plan: dict[str, tuple[list[str], list[str]]], *,
         assignments: int = 3, criteria: int = 2, seed_value: int = 2026) -> None:
    graded = marks(plan, tasks=assignments, criteria=criteria, seed_value=seed_value)
    user_ids: dict[str, int] = {}
    enrollment_id = assignment_id = submission_id = outcome_id = 0
    for number, (klass, (students, competencies)) in enumerate(sorted(plan.items())):
        course_id = 1000 + number
        fake.courses[course_id] = {
            "id": course_id, "sis_course_id": klass, "name": f"Course for {klass}",
            "course_code": klass.upper(), "workflow_state": "available",
            "enrollment_term_id": 1, "account_id": 1, "root_account_id": 1,
            "start_at": "2025-08-25T06:00:00Z", "end_at": None, "integration_id": None}
        section_id = 5000 + number
        fake.sections[course_id] = [{
            "id": section_id, "name": f"{klass} section", "course_id": course_id,
            "sis_section_id": klass, "sis_course_id": klass, "nonxlist_course_id": None}]
        rows = []
        for sis in students:
            uid = user_ids.setdefault(sis, 40000 + len(user_ids))
            enrollment_id += 1
            rows.append({
                "id": enrollment_id, "user_id": uid, "course_id": course_id,
                "course_section_id": section_id, "type": "StudentEnrollment",
                "enrollment_state": "active", "role": "StudentEnrollment", "role_id": 3,
                "sis_user_id": sis, "sis_section_id": klass, "sis_course_id": klass,
                "user": {"id": uid, "name": f"Student {uid}", "sortable_name": f"{uid}, Student",
                         "short_name": f"Student {uid}", "sis_user_id": sis,
                         "integration_id": None, "login_id": f"{sis.lower()}@example.org"}})
        fake.enrollments[course_id] = rows
        for a in range(assignments):
            assignment_id += 1
            rubric = []
            for k in range(criteria):
                outcome_id += 1
                guid = competencies[(a * criteria + k) % len(competencies)]
                rubric.append({
                    "id": f"_{1000 + k}", "points": 4.0, "description": f"Criterion {k + 1}",
                    "long_description": "", "criterion_use_range": False,
                    "outcome_id": outcome_id, "vendor_guid": guid,
                    # Canvas copies the outcome's mastery points into an aligned criterion.
                    "learning_outcome_id": str(outcome_id), "mastery_points": 3.0,
                    "ratings": [{"id": f"_{2000 + r}", "points": float(r),
                                 "description": ["Beginning", "Developing", "Proficient",
                                                 "Advanced"][r - 1], "long_description": ""}
                                for r in (4, 3, 2, 1)]})
            rubric.append({"id": "_9000", "points": 2.0, "description": "Neatness",
                           "long_description": "", "criterion_use_range": False,
                           "ratings": [{"id": "_9001", "points": 2.0, "description": "Neat"}]})
            fake.assignments[assignment_id] = {
                "id": assignment_id, "name": title(klass, a), "course_id": course_id,
                "points_possible": POINTS, "grading_type": "points",
                "due_at": iso(due(number, a)), "published": True,
                "workflow_state": "published", "omit_from_final_grade": False,
                "assignment_group_id": 1, "position": a + 1,
                "submission_types": ["online_upload"], "use_rubric_for_grading": True,
                "rubric": rubric, "rubric_settings": {"id": assignment_id, "points_possible": 10.0}}
            for sis in students:
                submission_id += 1
                mark = graded[(klass, a, sis)]
                assessment = {c["id"]: {"rating_id": None, "comments": "", "points": points}
                              for c, points in zip(rubric, mark.criteria, strict=False)}
                assessment["_9000"] = {"rating_id": "_9001", "comments": "", "points": 2.0}
                fake.submissions[submission_id] = {
                    "id": submission_id, "assignment_id": assignment_id,
                    "user_id": user_ids[sis], "score": mark.points, "grade": f"{mark.points:g}",
                    "excused": False, "missing": False, "late": False,
                    "workflow_state": "graded", "attempt": 1,
                    "submitted_at": iso(due(number, a) - timedelta(hours=3)),
                    "graded_at": iso(mark.graded_at), "rubric_assessment": assessment}


def expected_scores(fake: FakeCanvas) -> dict[str, tuple[str, str, float | str | None, str]]:
    """What the adapter should give: score key -> (item, student SIS id, score or rating, status).

    Written from the seed's own data, following Canvas's documented meanings:
    excused is exempt, published assignments only, CASE-aligned criteria apart.
    """
    sis_of = {e["user_id"]: e["sis_user_id"] for rows in fake.enrollments.values()
              for e in rows}
    out: dict[str, tuple[str, str, float | str | None, str]] = {}
    for sub in fake.submissions.values():
        assignment = fake.assignments[sub["assignment_id"]]
        if assignment["workflow_state"] != "published" or sub["workflow_state"] != "graded":
            continue
        status = "exempt" if sub["excused"] else "fully graded"
        sis = sis_of[sub["user_id"]]
        if sub["score"] is None and not sub["excused"]:
            continue
        out[str(sub["id"])] = (str(assignment["id"]), sis, sub["score"], status)
        for criterion in assignment["rubric"]:
            if "vendor_guid" not in criterion:
                continue
            points = (sub.get("rubric_assessment") or {}).get(criterion["id"], {}).get("points")
            # A rating is read by its name (the level the teacher picked), not as points.
            named = [r["description"] for r in criterion["ratings"] if r["points"] == points]
            out[f"{sub['id']}:{criterion['id']}"] = (
                f"{assignment['id']}:{criterion['id']}", sis,
                None if sub["excused"] else named[0] if len(named) == 1 else points, status)
    return out


def sample_fake(oneroster: Path, **options: Any) -> FakeCanvas:
    fake = FakeCanvas(**options)
    seed(fake, sample_plan(oneroster))
    return fake
