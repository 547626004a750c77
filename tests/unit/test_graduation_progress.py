"""Graduation status from credits: requirements by subject, transfer credit, the final year."""

from __future__ import annotations

from pathlib import Path

from connector.transcripts.build import graduation_progress
from connector.transcripts.model import CreditRow
from connector.transcripts.transfer_credit import read

REQUIRED = {"Mathematics": 3, "Science": 2}


def _row(course: str, subject: str, year: str, *, earned: bool = False,
         in_progress: bool = False, transfer: str = "") -> CreditRow:
    return CreditRow(course, course.title(), 1.0, earned, "2024-05-01" if earned else None,
                     subject, year, in_progress, transfer)


def test_a_subject_with_more_courses_than_it_requires_absorbs_one_not_yet_earned() -> None:
    credits = [_row("alg1", "Mathematics", "2022-2023", earned=True),
               _row("geom", "Mathematics", "2023-2024"),
               _row("alg2", "Mathematics", "2024-2025", earned=True),
               _row("stat", "Mathematics", "2025-2026", in_progress=True),
               _row("bio", "Science", "2022-2023", transfer="Lakeview HS"),
               _row("chem", "Science", "2023-2024", earned=True)]
    requirements, text = graduation_progress(credits, REQUIRED)
    assert text == "on track: 4 of 5 required credits earned, 1 in progress"
    math, science = requirements
    assert (math.earned, math.in_progress, math.met) == (2, 1, False)
    assert (science.earned, science.met) == (2, True)  # transfer credit counts


def test_in_the_final_year_a_shortfall_is_incomplete_and_before_it_outstanding() -> None:
    credits = [_row("alg1", "Mathematics", "2022-2023", earned=True),
               _row("bio", "Science", "2022-2023"),
               _row("chem", "Science", "2023-2024", in_progress=True)]
    assert graduation_progress(credits, REQUIRED)[1] == (
        "requirements incomplete: Mathematics needs 2 more credits; Science needs 1 more credit")
    assert graduation_progress(credits, REQUIRED, final_year=False)[1] == (
        "credit outstanding: Bio (2022-2023) not yet earned; "
        "1 of 5 required credits earned, 1 in progress")


def test_every_requirement_met() -> None:
    credits = [_row(c, "Mathematics", "2023-2024", earned=True) for c in ("a", "b", "c", "d")]
    credits += [_row(c, "Science", "2023-2024", earned=True) for c in ("e", "f")]
    requirements, text = graduation_progress(credits, REQUIRED)
    assert text == "requirements met: 5 of 5 required credits"
    assert all(r.met for r in requirements)


def test_without_requirements_it_counts_credit(tmp_path: Path) -> None:
    credits = [_row("a", "Mathematics", "2024-2025", earned=True), _row("b", "Art", "2024-2025")]
    assert graduation_progress(credits, {}) == (
        (), "1 of 2 course credits earned by demonstrated competency")
    assert graduation_progress([], {}) == ((), "")


def test_a_transfer_file_keeps_good_rows_and_names_each_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "transfer-credit.csv"
    path.write_text("student,course,title,subject,credits,school,school_year\n"
                    "S1,ENG9,English 9,English Language Arts,1,Lakeview HS,2023-2024\n"
                    "S1,ALG1,Algebra I,Mathematics,one,Lakeview HS,2023-2024\n"
                    "S2,BIO,Biology,Science,1,,2023-2024\n"
                    "S2,CHEM,Chemistry,Science,1,Lakeview HS,spring\n"
                    "S2,USH,US History,Social Studies,11,Lakeview HS,2024-2025\n")
    found, rejected = read(path)
    assert [(c.course, c.transfer_from, c.credits) for c in found["S1"]] == [
        ("ENG9", "Lakeview HS", 1.0)]
    assert "S2" not in found
    assert [str(r) for r in rejected] == [
        "transfer-credit.csv row 3, credits: not a number: one",
        "transfer-credit.csv row 4, school: required",
        "transfer-credit.csv row 5, school_year: not a school year like 2024-2025: spring",
        "transfer-credit.csv row 6, credits: must be more than 0 and at most 10: 11"]
    path.write_text("student,course\nS1,ENG9\n")
    assert [str(r) for r in read(path)[1]] == [
        "transfer-credit.csv row 1, credits, school: column missing"]
