"""The generated high school: its own random stream, a history of school years, the odd cases."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from connector.sample import high_school as hs
from connector.sample.generator import generate
from connector.transcripts import transfer_credit
from tests.conftest import ROOT

SHIPPED = ROOT / "examples" / "sample-district"


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / "oneroster" / name, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("hs")
    generate(base / "without", students=12, seed=7)
    generate(base / "with", students=12, seed=7, high_school_students=24)
    return base / "without", base / "with"


@pytest.mark.parametrize("name", ["users.csv", "enrollments.csv", "results.csv",
                                  "lineItems.csv", "classes.csv", "demographics.csv"])
def test_the_middle_schools_rows_are_the_same_with_or_without_the_high_school(
        pair: tuple[Path, Path], name: str) -> None:
    without, with_hs = pair
    before = _rows(without, name)
    after = _rows(with_hs, name)
    assert after[:len(before)] == before
    assert len(after) > len(before)


def test_the_shipped_high_school_has_four_cohorts_and_four_school_years() -> None:
    users = _rows(SHIPPED, "users.csv")
    students = [u for u in users if u["sourcedId"].startswith("S2")]
    assert Counter(u["grades"] for u in students) == {"09": 50, "10": 50, "11": 50, "12": 50}
    years = {s["title"] for s in _rows(SHIPPED, "academicSessions.csv")
             if s["type"] == "schoolYear"}
    assert {"2022-2023", "2023-2024", "2024-2025", "2025-2026"} <= years
    classes = [c for c in _rows(SHIPPED, "classes.csv") if "-crhs-" in c["sourcedId"]]
    # Each grade's three courses, once per school year the current cohorts took them.
    assert len(classes) == sum(3 * (4 - g) for g in range(4))


def test_transfers_have_credit_from_the_sending_school_and_no_evidence_before_arriving() -> None:
    found, rejected = transfer_credit.read(SHIPPED / "transfer-credit.csv")
    assert rejected == []
    transfers = {f"S{200001 + n}" for n in range(200) if hs.is_transfer(n, hs.GRADES[n % 4])}
    assert set(found) == transfers and len(transfers) == 6
    enrolled = {(e["userSourcedId"], e["classSourcedId"]) for e in _rows(SHIPPED,
                                                                          "enrollments.csv")}
    for sid in transfers:
        assert {c.transfer_from for c in found[sid]} == {hs.SENDING_SCHOOL}
        classes = [cls for who, cls in enrolled if who == sid]
        assert classes and all(cls.endswith("-2025") for cls in classes)


def test_overrides_name_real_students_and_targets() -> None:
    with open(SHIPPED / "overrides.csv", newline="") as handle:
        overrides = list(csv.DictReader(handle))
    assert len(overrides) == 5
    students = {u["sourcedId"]: u for u in _rows(SHIPPED, "users.csv")}
    case = (SHIPPED / "case" / "cedar-ridge-high-school.json").read_text()
    for row in overrides:
        assert students[row["student"]]["grades"] in ("11", "12")
        assert f'"humanCodingScheme": "{row["competency"]}"' in case
        assert row["reason"] and row["by"].startswith("t-crhs-")
