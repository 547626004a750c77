"""Fuzzing the boundaries: whatever a vendor sends, the answer is a record or a named refusal.

Hypothesis generates hostile and odd inputs for the CSV reader and the OneRoster row
parsers, the CASE package parser and the xAPI and Caliper validators. Each must end in
one of its documented outcomes (a record, a Rejection, a DataError or InvalidStatement
with a message) and never in any other exception: an ``IndexError`` or a
``RecursionError`` in a sync is a run that fails for every later record. The same
targets run under atheris for deeper fuzzing (``fuzz/README.md``).
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.adapters.csvfiles import CsvRow, MissingColumns, read_rows
from connector.adapters.oneroster import parse
from connector.adapters.sources.learning_events import caliper, xapi
from connector.errors import DataError, Rejection
from connector.frameworks.case_package import ParsedPackage, parse_package

#: ``FUZZ_EXAMPLES=5000`` for a longer search than the suite's.
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

#: Cells as exports get them wrong: quotes, bare CRs, NULs, odd digits, formulas, BOMs.
cells = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", "1e308", "nan", "-0", "١٠", "=HYPERLINK(\"x\")", "\x00", "a\rb",
                     "\"", "\ufeff", "2025-13-40", "tobedeleted", "active", "weird", "10",
                     "S100001", "3.5", "inf", " 7 ", "2025-10-01T08:00:00Z"]),
)
#: JSON documents of any shape, a few levels deep.
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
              st.text(max_size=15)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=10), children, max_size=4)),
    max_leaves=25,
)


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", errors="surrogatepass")


def _read(data: bytes, name: str, required: tuple[str, ...] = ()) -> list[CsvRow | Rejection]:
    try:
        return list(read_rows(lambda: io.BytesIO(data), name, required_columns=required))
    except MissingColumns as exc:
        assert exc.rejection.reason  # a refused file says why
        return []


@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes_are_rows_or_rejections(data: bytes) -> None:
    for item in _read(data, "users.csv", ("sourcedId",)):
        assert isinstance(item, CsvRow | Rejection)
        if isinstance(item, Rejection):
            assert item.reason and (item.row is None or item.row >= 1)


PARSERS: dict[str, tuple[list[str], Any]] = {
    "users.csv": (["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds",
                   "role", "username", "givenName", "familyName", "email", "identifier",
                   "grades"], lambda row: parse.person(row, "sis", "student")),
    "lineItems.csv": (["sourcedId", "status", "title", "classSourcedId", "categorySourcedId",
                       "assignDate", "dueDate", "resultValueMin", "resultValueMax",
                       "learningObjectiveIds"],
                      lambda row: parse.line_item(row, "sis", "America/Denver", ())),
    "results.csv": (["sourcedId", "status", "lineItemSourcedId", "studentSourcedId",
                     "scoreStatus", "score", "textScore", "scoreDate", "comment"],
                    lambda row: parse.result(row, "sis", "America/Denver")),
    "enrollments.csv": (["sourcedId", "status", "classSourcedId", "schoolSourcedId",
                         "userSourcedId", "role", "primary", "beginDate", "endDate"],
                        lambda row: parse.enrollment(row, "sis")),
    "demographics.csv": (["sourcedId", "status", "birthDate", "sex",
                          "hispanicOrLatinoEthnicity", "americanIndianOrAlaskaNative"],
                         lambda row: parse.demographics(row, "sis")),
}


@FUZZ
@given(st.sampled_from(sorted(PARSERS)), st.data())
def test_oneroster_rows_become_records_or_data_errors(name: str, data: st.DataObject) -> None:
    header, parser = PARSERS[name]
    rows = data.draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)),
                              max_size=5))
    for item in _read(_csv(header, rows), name):
        if isinstance(item, Rejection):
            continue
        try:
            parser(item)
        except DataError as exc:
            assert exc.message


@st.composite
def case_packages(draw: st.DrawFn) -> Any:
    """Mostly package-shaped documents with odd values, sometimes anything at all."""
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    item = st.fixed_dictionaries({"identifier": st.one_of(st.uuids().map(str), cells)},
                                 optional={"fullStatement": cells, "humanCodingScheme": cells,
                                           "CFItemType": json_values, "educationLevel": json_values,
                                           "CFItemTypeURI": json_values,
                                           "lastChangeDateTime": cells})
    link = st.fixed_dictionaries({"identifier": cells, "uri": cells, "title": cells})
    association = st.fixed_dictionaries(
        {"identifier": cells, "associationType": st.sampled_from(["isChildOf", "exactMatchOf",
                                                                  "odd", ""]),
         "originNodeURI": st.one_of(link, json_values),
         "destinationNodeURI": st.one_of(link, json_values)},
        optional={"sequenceNumber": json_values})
    return {"CFDocument": draw(st.fixed_dictionaries({"identifier": cells, "title": cells},
                                                     optional={"uri": cells, "language": cells})),
            "CFItems": draw(st.lists(st.one_of(item, json_values), max_size=5)),
            "CFAssociations": draw(st.lists(st.one_of(association, json_values), max_size=5)),
            "CFDefinitions": draw(json_values)}


@FUZZ
@given(case_packages())
def test_case_packages_parse_or_are_refused_with_a_reason(document: Any) -> None:
    try:
        parsed = parse_package(document, "fuzz.json")
    except DataError as exc:
        assert exc.message
        return
    assert isinstance(parsed, ParsedPackage)
    assert all(r.reason for r in parsed.rejections)


@st.composite
def statements(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 3)) == 0:
        return draw(json_values)
    return {
        "id": draw(st.one_of(st.uuids().map(str), cells)),
        "actor": draw(st.one_of(json_values, st.fixed_dictionaries(
            {"objectType": st.just("Agent"),
             "account": st.fixed_dictionaries({"homePage": cells, "name": cells})}))),
        "verb": draw(st.one_of(json_values, st.fixed_dictionaries(
            {"id": st.sampled_from(["http://adlnet.gov/expapi/verbs/scored",
                                    "http://adlnet.gov/expapi/verbs/voided", "x"])}))),
        "object": draw(st.one_of(json_values, st.fixed_dictionaries(
            {"id": cells}, optional={"objectType": st.sampled_from(["Activity",
                                                                    "StatementRef"])}))),
        "result": draw(st.one_of(json_values, st.fixed_dictionaries(
            {"score": st.dictionaries(st.sampled_from(["raw", "min", "max", "scaled"]),
                                      st.one_of(st.floats(), st.integers(), cells),
                                      max_size=4)}))),
        "timestamp": draw(cells),
    }


@FUZZ
@given(statements())
def test_xapi_statements_are_checked_then_read_or_refused(statement: Any) -> None:
    try:
        xapi.check_statement(statement)
    except xapi.InvalidStatement as exc:
        assert str(exc)
        return
    try:
        xapi.to_records(json.loads(json.dumps(statement)), source="tutor", home_page=None)
    except DataError as exc:
        assert exc.message


@FUZZ
@given(st.one_of(json_values, st.fixed_dictionaries({
    "sensor": cells, "sendTime": cells,
    "dataVersion": st.sampled_from(["http://purl.imsglobal.org/ctx/caliper/v1p2", "x"]),
    "data": st.lists(st.one_of(json_values, st.fixed_dictionaries(
        {"id": cells, "type": st.sampled_from(["GradeEvent", "ViewEvent", "WeirdEvent"]),
         "actor": json_values, "action": cells, "object": json_values, "eventTime": cells},
        optional={"generated": json_values})), max_size=3)})))
def test_caliper_envelopes_are_checked_then_read_or_refused(envelope: Any) -> None:
    try:
        events = caliper.check_envelope(envelope)
    except xapi.InvalidStatement as exc:
        assert str(exc)
        return
    for event in events:
        try:
            caliper.to_records(event, source="quiz", person_prefix=None)
        except DataError as exc:
            assert exc.message
