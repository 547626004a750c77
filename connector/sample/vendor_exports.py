"""Deterministic vendor exports shaped by a vendor profile, for tests, demos and benchmarks.

Every shipped profile gets a realistic file from the same generator: the
profile's own column names in a vendor-like order, columns the connector never
reads (grade, time spent, a student name) beside them, dates in the profile's
layout and scores in its units. Rows are written as they are generated, so a
benchmark file of ten million rows costs no memory to make.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

from connector.adapters.vendor_profiles.profile import VendorProfile

#: Columns real exports carry that no profile reads; a reader must ignore them.
EXTRA_COLUMNS = ("Student Name", "Grade", "Time Spent (min)")
FIRST = ("Avery", "Jordan", "Riley", "Quinn", "Rowan", "Emerson", "Hayden", "Sawyer")
LAST = ("Okafor", "Lindqvist", "Haddad", "Moreno", "Nakamura", "Fitzgerald", "Abernathy")


@dataclass(frozen=True)
class SampleSkill:
    code: str
    title: str
    standard: str = ""
    domain: str = ""


def header(profile: VendorProfile) -> list[str]:
    cols = profile.columns
    order = ("student", "skill", "skill_name", "domain", "standard", "score", "max_score",
             "date", "record_id")
    named = [cols[role] for role in order if role in cols]
    return named[:1] + [EXTRA_COLUMNS[0]] + named[1:] + list(EXTRA_COLUMNS[1:])


def rows(profile: VendorProfile, students: Sequence[str], skills: Sequence[SampleSkill],
         count: int, *, seed: int = 7, start: date = date(2026, 9, 1)) -> Iterator[list[str]]:
    """``count`` data rows: students and skills in turn, dates moving forward a day at a time."""
    rng = random.Random(seed)
    cols = profile.columns
    if "skill" not in cols:  # one test per file (an i-Ready subject): the skill is fixed
        skills = skills[:1]
    names = header(profile)
    pairs = len(students) * len(skills)
    for n in range(count):
        student = students[n % len(students)]
        skill = skills[(n // len(students)) % len(skills)]
        day = start + timedelta(days=n // max(pairs, 1))
        values = {
            cols["student"]: student,
            cols["score"]: _score(profile, rng),
            EXTRA_COLUMNS[0]: f"{rng.choice(LAST)}, {rng.choice(FIRST)}",
            EXTRA_COLUMNS[1]: str(rng.randint(6, 8)),
            EXTRA_COLUMNS[2]: str(rng.randint(1, 45)),
        }
        for role, value in (("skill", skill.code), ("skill_name", skill.title),
                            ("date", day.strftime(profile.date_format or "%Y-%m-%d")),
                            ("standard", skill.standard),
                            ("domain", skill.domain), ("max_score", "20"),
                            ("record_id", f"{student}-{skill.code}-{n}")):
            if role in cols:
                values[cols[role]] = value
        yield [values.get(name, "") for name in names]


def _score(profile: VendorProfile, rng: random.Random) -> str:
    meaning = profile.score
    if meaning.kind == "labels":
        return rng.choice(sorted(meaning.labels))
    if meaning.kind == "scale":
        assert meaning.max is not None
        return str(rng.randint(int(meaning.min), int(meaning.max)))
    if meaning.kind == "points":
        return str(rng.randint(0, int(meaning.max or 20)))
    return str(rng.randint(1, 99) if profile.item_kind == "diagnostic" else rng.randint(0, 100))


def write(path: Path | TextIO, profile: VendorProfile, students: Sequence[str],
          skills: Sequence[SampleSkill], count: int, *, seed: int = 7) -> int:
    """Write a sample export; returns the number of data rows."""
    if isinstance(path, Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as handle:
            return write(handle, profile, students, skills, count, seed=seed)
    writer = csv.writer(path, delimiter=profile.delimiter, lineterminator="\r\n")
    writer.writerow(header(profile))
    written = 0
    for row in rows(profile, students, skills, count, seed=seed):
        writer.writerow(row)
        written += 1
    return written
