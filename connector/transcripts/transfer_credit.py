"""Credit a student earned at another school, as the SIS's course history lists it.

A competency-based school does not re-assess what a transfer student already has credit
for: the registrar accepts the sending school's credit, and the transcript lists it as
transfer credit, with that school's name, apart from credit earned here by demonstrated
competency. The file is the SIS's export, one row per course:
``student,course,title,subject,credits,school,school_year``.

A row that cannot be read is set aside with its row number, field and reason; the rest
are used.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from connector.transcripts.model import CreditRow

COLUMNS = ("student", "course", "title", "subject", "credits", "school", "school_year")
_YEAR = re.compile(r"^\d{4}-\d{4}$")


@dataclass(frozen=True)
class Rejected:
    file: str
    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, {self.field}: {self.reason}"


def parse(rows: Iterable[dict[str, str]], file: str = "transfer-credit.csv"
          ) -> tuple[dict[str, list[CreditRow]], list[Rejected]]:
    """Transfer credit per student, and the rows set aside.

    >>> ok, bad = parse([{"student": "S1", "course": "ALG1", "title": "Algebra I",
    ...     "subject": "Mathematics", "credits": "1", "school": "Lakeview HS",
    ...     "school_year": "2023-2024"}, {"student": "S1", "course": "X", "credits": "many",
    ...     "school": "Lakeview HS"}])
    >>> ok["S1"][0].transfer_from, [str(r) for r in bad]
    ('Lakeview HS', ['transfer-credit.csv row 3, credits: not a number: many'])
    """
    out: dict[str, list[CreditRow]] = {}
    rejected: list[Rejected] = []
    for n, row in enumerate(rows, start=2):  # row 1 is the header
        got = {k: (row.get(k) or "").strip() for k in COLUMNS}
        problem = _problem(got)
        if problem:
            rejected.append(Rejected(file, n, *problem))
            continue
        out.setdefault(got["student"], []).append(CreditRow(
            got["course"], got["title"] or got["course"], float(got["credits"]), earned=False,
            earned_on=None, subject=got["subject"], school_year=got["school_year"],
            transfer_from=got["school"]))
    return out, rejected


def _problem(row: dict[str, str]) -> tuple[str, str] | None:
    for name in ("student", "course", "school"):
        if not row[name]:
            return name, "required"
    try:
        credits = float(row["credits"])
    except ValueError:
        return "credits", f"not a number: {row['credits']}"
    if not 0 < credits <= 10:
        return "credits", f"must be more than 0 and at most 10: {row['credits']}"
    if row["school_year"] and not _YEAR.match(row["school_year"]):
        return "school_year", f"not a school year like 2024-2025: {row['school_year']}"
    return None


def read(path: Path) -> tuple[dict[str, list[CreditRow]], list[Rejected]]:
    """Read the file (a missing file is an error: the district named it)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("student", "course", "credits", "school")
                   if c not in (reader.fieldnames or [])]
        if missing:
            return {}, [Rejected(path.name, 1, ", ".join(missing), "column missing")]
        return parse(reader, path.name)
