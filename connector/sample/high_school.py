"""Cedar Ridge High School in the sample district: four cohorts, four years of courses.

A transcript is mostly about the past, so the high school's roster carries every school
year a student has been there: a senior took Algebra I in 2022-2023. Courses are one per
school year (OneRoster's ``schoolYearSourcedId``), with one class each; the current year
(2025-2026) has been graded through its first semester, so its courses are in progress.

Some students are not typical, on purpose:

- transfers-in arrived this year; their earlier courses come as transfer credit from the
  SIS's course history (``transfer-credit.csv``), not as evidence;
- a few have a teacher's override (``overrides.csv``), applied by ``make demo``;
- the weakest have a course whose competency is not yet proficient, so a requirement
  stays incomplete.

Rows come from their own random stream, so the middle schools' rows are the same with or
without the high school.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from connector.sample import rows as row
from connector.sample.catalog import HIGH_SCHOOL

SCHOOL = ("crhs", "Cedar Ridge High School")
GRADES = ["09", "10", "11", "12"]
CURRENT_YEAR = 2025
#: Weeks after the first day of school each learning target is taught; the current year
#: has been graded up to week CURRENT_WEEKS (the end of the first semester).
TARGET_WEEKS = (3, 11, 19)
CURRENT_WEEKS = 20
#: Weeks after a target's quiz or task that students who have not shown it reassess.
REASSESS_AFTER = 8
#: The sample district's decaying-average weight (district.yaml), which reassessment follows.
DECAY = 0.65
MIN_EVIDENCE = 2
#: Students' ability range, and what reteaching adds before a reassessment.
ABILITY = (0.6, 1.0)
REASSESS_GAIN = 0.3
HABIT_OF = {"Mathematics": ("CR.HOS.P.1", "Problem-solving persistence log"),
            "English Language Arts": ("CR.HOS.P.2", "Revision conference"),
            "Science": ("CR.HOS.C.2", "Lab team role"),
            "Social Studies": ("CR.HOS.C.1", "Seminar discussion")}
SENDING_SCHOOL = "Lakeview High School, Lakeview, OR"


@dataclass(frozen=True)
class Course:
    code: str
    title: str
    grade: str
    subject: str
    competency: str
    targets: tuple[tuple[str, str, int], ...]


COURSES = [Course(code, title, grade, subject, comp, tuple(targets))
           for _, _, subject, courses in HIGH_SCHOOL
           for code, title, grade, comp, _, targets in courses]


def year_id(start: int) -> str:
    """``as-2024-25``: the academic session of the school year starting in ``start``."""
    return f"as-{start}-{(start + 1) % 100:02d}"


def year_sessions() -> list[tuple[str, ...]]:
    """The earlier school years the high school's history needs (the current one exists)."""
    return [(year_id(y), "", "", f"{y}-{y + 1}", "schoolYear", date(y, 8, 25).isoformat(),
             date(y + 1, 6, 5).isoformat(), "", str(y + 1))
            for y in range(CURRENT_YEAR - 3, CURRENT_YEAR)]


def course_items(course: Course) -> list[tuple[str, str, str, float, tuple[str, ...], int]]:
    """(suffix, title, category, max score, CASE codes carried, week) per gradebook column.

    Two pieces of evidence per learning target: practice, then a quiz, a performance task
    (DOK 3) or a capstone (DOK 4); and up to two reassessments, which only students who
    have not yet shown the target take (suffixes ``r`` and ``s``). Alignments are mixed as in the middle
    schools: a code in the title, a CASE id carried, or the crosswalk alone. One column is
    a habit of success.
    """
    prefix = course.code.lower()
    items: list[tuple[str, str, str, float, tuple[str, ...], int]] = []
    for n, (code, text, dok) in enumerate(course.targets):
        week = TARGET_WEEKS[n % len(TARGET_WEEKS)]
        short = text.removeprefix("I can ").rstrip(".")
        short = short[0].upper() + short[1:]
        how = n % 3
        title = f"Practice: {short} ({code})" if how == 0 else f"Practice: {short}"
        items.append((f"{prefix}-{n + 1:02d}a", title, "cat-classwork", 10.0,
                      (code,) if how == 1 else (), week))
        if dok >= 4:
            second = (f"Capstone: {short}", "cat-capstone", 4.0)
        elif dok == 3:
            second = (f"Performance task: {short}", "cat-performance", 4.0)
        else:
            second = (f"Quiz: {short}", "cat-classwork", 20.0)
        items.append((f"{prefix}-{n + 1:02d}b", *second, (code,), week + 2))
        for again, suffix in enumerate("rs", start=1):
            items.append((f"{prefix}-{n + 1:02d}{suffix}",
                          f"Reassessment{' ' + str(again) if again > 1 else ''}: {short}",
                          *second[1:], (code,), week + REASSESS_AFTER * again))
    items.append((f"{prefix}-h1", HABIT_OF[course.subject][1], "cat-habits", 4.0, (), 8))
    return items


def crosswalk_rows() -> list[tuple[str, ...]]:
    """Items only the crosswalk aligns (every third practice), and the habit columns."""
    rows: list[tuple[str, ...]] = []
    for course in COURSES:
        prefix = course.code.lower()
        for n, (code, _, _) in enumerate(course.targets):
            if n % 3 == 2:
                rows.append(("sis-gradebook", f"li-*-{prefix}-{n + 1:02d}a", code, "", "", "1"))
        rows.append(("sis-gradebook", f"li-*-{prefix}-h1", HABIT_OF[course.subject][0], "",
                     "teacher_task", "1"))
    return rows


@dataclass
class Rows:
    """The high school's rows for each OneRoster file, and the two registrar files."""

    orgs: list[tuple[str, ...]] = field(default_factory=list)
    sessions: list[tuple[str, ...]] = field(default_factory=list)
    courses: list[tuple[str, ...]] = field(default_factory=list)
    classes: list[tuple[str, ...]] = field(default_factory=list)
    users: list[tuple[str, ...]] = field(default_factory=list)
    roles: list[tuple[str, ...]] = field(default_factory=list)
    demographics: list[tuple[str, ...]] = field(default_factory=list)
    enrollments: list[tuple[str, ...]] = field(default_factory=list)
    line_items: list[tuple[str, ...]] = field(default_factory=list)
    lilo: list[tuple[str, ...]] = field(default_factory=list)
    results: list[tuple[str, ...]] = field(default_factory=list)
    transfer_credit: list[tuple[str, ...]] = field(default_factory=list)
    overrides: list[tuple[str, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class _Student:
    sid: str
    grade: str
    ability: float
    #: The school year the student arrived (earlier years are transfer credit).
    arrived: int


def is_transfer(n: int, grade: str) -> bool:
    """Every 25th student of grades 10-12 transferred in this year."""
    return grade != GRADES[0] and n % 25 == 7


def rows(rng: random.Random, students: int, codes: dict[str, str]) -> Rows:
    """Every row the high school adds to the sample, from its own random stream."""
    key, name = SCHOOL
    org = f"org-{key}"
    out = Rows()
    out.orgs.append((org, "", "", name, "school", f"CR-{key.upper()}", "org-cr"))
    out.sessions = year_sessions()
    roster: list[_Student] = []
    for n in range(students):
        sid = f"S{200001 + n}"
        grade = GRADES[n % len(GRADES)]
        given, family = rng.choice(_GIVEN), rng.choice(_FAMILY)
        guardian = f"g-{sid}"
        out.users.append(row.user(sid, given, family,
                                   f"{sid.lower()}@students.cedar-ridge.example", grade, org,
                                   agents=guardian))
        out.roles.append((f"role-{sid}", "", "", sid, "primary", "student", "", "", org, ""))
        out.users.append(row.user(guardian, _GIVEN[(n * 5 + 4) % len(_GIVEN)], family,
                                   f"{guardian.lower()}@families.cedar-ridge.example", "", org,
                                   agents=sid))
        out.roles.append((f"role-{guardian}", "", "", guardian, "primary", "guardian", "", "",
                          org, ""))
        out.demographics.append(row.demographic(rng, sid, n, grade))
        ability = rng.uniform(*ABILITY)
        arrived = CURRENT_YEAR if is_transfer(n, grade) else CURRENT_YEAR - GRADES.index(grade)
        roster.append(_Student(sid, grade, ability, arrived))

    teachers = {}
    for m, course in enumerate(COURSES):
        teacher = f"t-{key}-{course.code.lower()}"
        teachers[course.code] = teacher
        given, family = _GIVEN[(m * 7 + 1) % len(_GIVEN)], _FAMILY[(m * 11 + 5) % len(_FAMILY)]
        out.users.append(row.user(teacher, given, family, f"{teacher}@cedar-ridge.example", "",
                                   org))
        out.roles.append((f"role-{teacher}", "", "", teacher, "primary", "teacher", "", "", org,
                          ""))

    for course in COURSES:
        taught = GRADES.index(course.grade)
        for start in range(CURRENT_YEAR - 3 + taught, CURRENT_YEAR + 1):
            # The cohort in this course that year is in grade (course grade + years since).
            cohort = GRADES[taught + CURRENT_YEAR - start]
            _course_year(out, course, start, cohort, roster, teachers[course.code], codes,
                         rng)

    for n, s in enumerate(roster):
        if s.arrived == CURRENT_YEAR and s.grade != GRADES[0]:
            for course in COURSES:
                if course.grade < s.grade:
                    year = CURRENT_YEAR - (GRADES.index(s.grade) - GRADES.index(course.grade))
                    out.transfer_credit.append((s.sid, course.code, course.title, course.subject,
                                                "1", SENDING_SCHOOL, f"{year}-{year + 1}"))
        if n % 40 == 11 and s.grade in ("11", "12") and s.arrived < CURRENT_YEAR:
            # A teacher credits a target from a portfolio defense the gradebook never saw.
            course = next(c for c in COURSES if c.grade == "10" and c.subject == "Science")
            out.overrides.append((s.sid, course.targets[2][0], "3",
                                  "Demonstrated in a portfolio defense reviewed by the science "
                                  "department", teachers[course.code]))
    return out


def _course_year(out: Rows, course: Course, start: int, cohort: str, roster: Sequence[_Student],
                 teacher: str, codes: dict[str, str], rng: random.Random) -> None:
    """One school year's course and class: its gradebook, enrollments and results."""
    key = SCHOOL[0]
    org, year = f"org-{key}", year_id(start)
    crs = f"crs-{course.code.lower()}-{start}"
    cls = f"cls-{key}-{course.code.lower()}-{start}"
    first, last = date(start, 8, 25), date(start + 1, 6, 5)
    current = start == CURRENT_YEAR
    out.courses.append((crs, "", "", year, course.title, course.code, course.grade, "org-cr",
                        course.subject, ""))
    out.classes.append((cls, "", "", f"{course.title} {start}-{start + 1} (CRHS)", course.grade,
                        crs, f"{course.code}-{start}", "scheduled", "", org, year,
                        course.subject, "", "1"))
    out.enrollments.append((f"enr-{cls}-{teacher}", "", "", cls, org, teacher, "teacher", "true",
                            first.isoformat(), last.isoformat()))
    items = [i for i in course_items(course) if not current or i[5] < CURRENT_WEEKS]
    for suffix, title, category, max_score, objectives, week in items:
        item = f"li-{cls}-{suffix}"
        assign = first + timedelta(weeks=week)
        out.line_items.append((item, "", "", title, "", assign.isoformat(),
                               (assign + timedelta(days=7)).isoformat(), cls, category, year, "0",
                               f"{max_score:g}", org))
        for n, code in enumerate(objectives):
            out.lilo.append((f"{item}-lo{n + 1}", "", "", item, "case", codes[code]))
    for s in roster:
        if s.grade != cohort or s.arrived > start:
            continue
        out.enrollments.append((f"enr-{cls}-{s.sid}", "", "", cls, org, s.sid, "student",
                                "false", first.isoformat(), last.isoformat()))
        # Each target's level so far, as the district's decaying average (weight 0.65)
        # would compute it: a student reassesses while it is below Proficient, or rests on
        # fewer pieces of evidence than the district's minimum (work not turned in).
        so_far: dict[str, float] = {}
        shown: dict[str, int] = defaultdict(int)
        for suffix, _, _, max_score, _, week in items:
            item = f"li-{cls}-{suffix}"
            target = suffix[:-1]
            reassessment = suffix[-1] in "rs"
            if reassessment and so_far.get(target, 0.0) >= 3 and shown[target] >= MIN_EVIDENCE:
                continue  # shown already: nothing to reassess
            when = first + timedelta(weeks=week, days=rng.randint(3, 9))
            result = f"res-{item}-{s.sid}"
            if not reassessment and rng.random() < 0.015:
                out.results.append((result, "", "", item, s.sid, "not submitted", "",
                                    when.isoformat(), "", "", cls, "", "", "", "true"))
                continue
            # A reassessment comes after reteaching: the student has learned since.
            ability = s.ability + (REASSESS_GAIN if reassessment else 0.0)
            value = row.score(rng, ability, max_score, (when - first).days / (last - first).days)
            level = _level(value, max_score)
            shown[target] += 1
            so_far[target] = (level if target not in so_far
                              else DECAY * level + (1 - DECAY) * so_far[target])
            out.results.append((result, "", "", item, s.sid, "fully graded", f"{value:g}",
                                when.isoformat(), "", "", cls, "", "", "", ""))


def _level(value: float, max_score: float) -> float:
    """The district's level for a score: a 4-point rubric as is, points by percent cuts."""
    if max_score == 4:
        return value
    percent = 100 * value / max_score
    return 4.0 if percent >= 95 else 3.0 if percent >= 80 else 2.0 if percent >= 60 else 1.0


_GIVEN = ["Aiyana", "Bilal", "Chloe", "Dmitri", "Esperanza", "Farah", "Gabriel", "Hiro",
          "Imani", "Javier", "Keanu", "Lina", "Marcus", "Nadia", "Omar", "Paloma", "Quinn",
          "Rosa", "Samir", "Talia", "Uriel", "Valentina", "Wes", "Xiadani", "Yusuf", "Zara"]
_FAMILY = ["Abara", "Bianchi", "Castillo", "Delgado", "Estrada", "Ferreira", "Goldberg",
           "Horvath", "Ito", "Jimenez", "Kaur", "Lindqvist", "Moreno", "Nwosu", "Ortiz",
           "Petrov", "Romero", "Sandoval", "Torres", "Ueda", "Villanueva", "Wojcik", "Yamamoto"]
