"""Boundary checks that keep one hostile value from stopping or corrupting a sync."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import pytest

from connector.adapters.csvfiles import CsvRow, MissingColumns, read_rows, safe_cell
from connector.adapters.oneroster.parse import to_be_deleted
from connector.adapters.values import check_text, parse_float
from connector.domain.scale import Level, ProficiencyScale
from connector.domain.text import json_text_problem
from connector.errors import DataError, MasteryError, Rejection
from connector.mastery.calculator import MAX_EVIDENCE, parse_evidence
from connector.mastery.progress import report_day

SCALE = ProficiencyScale("cr-4", "Cedar Ridge", (Level("1", "Beginning", 1),
                                                  Level("2", "Developing", 2),
                                                  Level("3", "Proficient", 3),
                                                  Level("4", "Advanced", 4)), "3")


def opener(text: str) -> object:
    @contextmanager
    def open_() -> Iterator[IO[bytes]]:
        yield io.BytesIO(text.encode("utf-8"))
    return open_


def rows(text: str, **options: object) -> list[CsvRow | Rejection]:
    return list(read_rows(opener(text), "users.csv", **options))  # type: ignore[arg-type]


def test_a_control_character_rejects_its_row_with_the_column_and_keeps_the_others() -> None:
    found = rows("sourcedId,givenName\r\nS1,Ana\r\nS2,Be\x00n\r\nS3,Cy\x07\r\nS4,Dee\r\n")
    kept = [r.values["sourcedId"] for r in found if isinstance(r, CsvRow)]
    refused = [(r.row, r.field, r.reason) for r in found if isinstance(r, Rejection)]
    assert kept == ["S1", "S4"]
    assert refused == [
        (3, "givenName", "value holds a control character (U+0000, a NUL byte) at position 3; "
                         "remove it in the source system"),
        (4, "givenName", "value holds a control character (U+0007) at position 3; remove it "
                         "in the source system")]


def test_the_strip_policy_removes_control_characters_instead() -> None:
    (row,) = rows("sourcedId,givenName\r\nS2,Be\x00n\r\n", controls="strip")
    assert isinstance(row, CsvRow) and row.values["givenName"] == "Ben"


def test_tabs_newlines_and_a_carriage_return_in_a_quoted_cell_are_text() -> None:
    (row,) = rows('sourcedId,comment\r\nS1,"line one\r\nline two\rand\tthree"\r\n')
    assert isinstance(row, CsvRow) and row.values["comment"] == "line one\r\nline two\rand\tthree"


def test_a_header_that_names_a_column_twice_refuses_the_file() -> None:
    with pytest.raises(MissingColumns) as refused:
        rows("sourcedId,score,score\r\nR1,1,2\r\n")
    assert refused.value.rejection.field == "score"
    assert "more than once" in refused.value.rejection.reason


@pytest.mark.parametrize("text", ["١٠", "１０", "1e999", "nan", "inf", "0x10", "1_000"])
def test_only_finite_numbers_in_ascii_digits_are_scores(text: str) -> None:
    with pytest.raises(DataError):
        parse_float(text, "score")


@pytest.mark.parametrize(("text", "value"), [("10", 10.0), ("-2.5", -2.5), (".5", 0.5),
                                             ("1e3", 1000.0), (" 7 ", 7.0)])
def test_ordinary_numbers_still_read(text: str, value: float) -> None:
    assert parse_float(text, "score") == value


def test_an_unknown_record_status_is_refused() -> None:
    def row(status: str) -> CsvRow:
        return CsvRow("users.csv", 2, {"status": status})

    assert to_be_deleted(row("tobedeleted")) and not to_be_deleted(row("active"))
    assert not to_be_deleted(row("")) and not to_be_deleted(row("inactive"))
    with pytest.raises(DataError, match="'status' must be one of"):
        to_be_deleted(row("weird"))


def test_text_checks_name_the_property_path() -> None:
    with pytest.raises(DataError, match="'name' holds a control character"):
        check_text("a\x1bb", "name")
    assert json_text_problem({"a": [{"b": "ok"}, {"c\x00": 1}]}, "body") == \
        "a property name in body.a[1] holds a control character (U+0000, a NUL byte) at position 2"
    assert json_text_problem({"a": "fine\ttext\n"}, "body") is None


def test_formula_cells_become_text_and_numbers_stay_numbers() -> None:
    assert [safe_cell(v) for v in ("=cmd", "+1+1", "-2+3", "@x", "\tx", "\rx", "-3", "+4.5",
                                   "2025-12-19", "")] == \
        ["'=cmd", "'+1+1", "'-2+3", "'@x", "'\tx", "'\rx", "-3", "+4.5", "2025-12-19", ""]


def test_the_calculator_refuses_what_it_cannot_compute() -> None:
    with pytest.raises(MasteryError, match="at most 200 pieces"):
        parse_evidence(",".join(["3"] * (MAX_EVIDENCE + 1)), SCALE)
    for value in ("nan", "inf", "1e999"):
        with pytest.raises(MasteryError, match="evidence item 1"):
            parse_evidence(f"{value},2", SCALE)


@pytest.mark.parametrize("text", ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01"])
def test_report_dates_stay_within_the_years_a_school_means(text: str) -> None:
    with pytest.raises(ValueError, match="between 1900-01-01 and 2199-12-31"):
        report_day(text)


def test_access_log_lines_lose_their_query_strings() -> None:
    import logging

    from connector.logging_setup import RedactingFilter

    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               '%s - - [01/Dec/2026 10:00:00] "%s" %s -',
                               ("127.0.0.1", "GET /api/v1/districts/cr/runs?t=s3cret-tok HTTP/1.1",
                                "200"), None)
    assert RedactingFilter().filter(record)
    assert "s3cret-tok" not in record.getMessage()
    assert "GET /api/v1/districts/cr/runs?… HTTP/1.1" in record.getMessage()
