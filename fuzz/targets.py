"""Fuzz targets for atheris: one function per boundary, taking the raw bytes a vendor could send.

Run one with atheris (``fuzz/README.md``); the suite runs each over the malformed corpus
(``tests/unit/test_fuzz_targets.py``) so that they keep working. A target raises only
when the product would fail a sync or answer 500: any exception other than the
boundary's documented refusal is a finding.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable
from typing import Any

from connector.adapters.csvfiles import MissingColumns, read_rows
from connector.adapters.oneroster import parse
from connector.adapters.sources.learning_events import caliper, xapi
from connector.errors import DataError
from connector.frameworks.case_package import parse_package


def _json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None  # the API answers these with a 400 before any validator runs


def users_csv(data: bytes) -> None:
    """A users.csv as a OneRoster export sends it: read, then each row parsed."""
    try:
        for row in read_rows(lambda: io.BytesIO(data), "users.csv",
                             required_columns=("sourcedId", "givenName", "familyName")):
            if hasattr(row, "values"):
                with contextlib.suppress(DataError):
                    parse.person(row, "sis", "student")  # type: ignore[arg-type]
    except MissingColumns:
        pass


def results_csv(data: bytes) -> None:
    try:
        for row in read_rows(lambda: io.BytesIO(data), "results.csv",
                             required_columns=("sourcedId", "lineItemSourcedId")):
            if hasattr(row, "values"):
                with contextlib.suppress(DataError):
                    parse.result(row, "sis", "America/Denver")  # type: ignore[arg-type]
    except MissingColumns:
        pass


def case_package(data: bytes) -> None:
    document = _json(data)
    with contextlib.suppress(DataError):
        parse_package(document, "fuzz.json")


def xapi_statement(data: bytes) -> None:
    statement = _json(data)
    try:
        xapi.check_statement(statement)
    except xapi.InvalidStatement:
        return
    with contextlib.suppress(DataError):
        xapi.to_records(statement, source="tutor", home_page="https://sis.example")


def caliper_envelope(data: bytes) -> None:
    try:
        events = caliper.check_envelope(_json(data))
    except xapi.InvalidStatement:
        return
    for event in events:
        with contextlib.suppress(DataError):
            caliper.to_records(event, source="quiz", person_prefix=None)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "users_csv": users_csv, "results_csv": results_csv, "case_package": case_package,
    "xapi_statement": xapi_statement, "caliper_envelope": caliper_envelope,
}


def main() -> None:
    import atheris  # type: ignore[import-not-found]  # installed for fuzzing only

    name = sys.argv.pop(1)
    atheris.instrument_all()  # coverage feedback from the connector's own code
    atheris.Setup(sys.argv, TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
