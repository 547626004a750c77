"""One district's teacher evidence, before any LMS shapes it.

The Canvas, Classroom and Schoology seeds all put these same tasks and marks
into their fakes, each in its vendor's shapes, so the three adapters can be
shown to give the same canonical records for the same district.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

POINTS = 10.0
START = datetime(2025, 9, 1, 15, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Mark:
    points: float
    criteria: tuple[float, ...]  # points on each CASE-aligned rubric criterion (of 4)
    graded_at: datetime


def title(klass: str, task: int) -> str:
    return f"Task {task + 1} ({klass})"


def due(number: int, task: int) -> datetime:
    return START + timedelta(days=7 * task + number)


def marks(plan: dict[str, tuple[list[str], list[str]]], *, tasks: int = 3, criteria: int = 2,
          seed_value: int = 2026) -> dict[tuple[str, int, str], Mark]:
    """(class, task, student SIS id) -> the mark, the same for every LMS."""
    rng = random.Random(seed_value)
    out = {}
    for number, (klass, (students, _competencies)) in enumerate(sorted(plan.items())):
        for task in range(tasks):
            for index, sis in enumerate(students):
                out[(klass, task, sis)] = Mark(
                    float(rng.randint(4, 10)),
                    tuple(float(rng.randint(1, 4)) for _ in range(criteria)),
                    due(number, task) + timedelta(days=2, minutes=index + 1))
    return out


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
