"""A district's first load skips lookups that can only find nothing; a rerun still makes them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from marshmallow import Schema
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from connector.adapters.base import Envelope, SourceAdapter
from connector.config.model import Settings
from connector.domain import records as r
from connector.errors import Rejection
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import evidence
from connector.sync.district import ensure_district
from tests.fakes.one_source import NoSettings, read_once


def evidence_lookups(factory: sessionmaker[Session], settings: Settings) -> tuple[int, int]:
    """(lookups of existing evidence by raw score, evidence the run built) in one run."""
    engine = factory.kw["bind"]
    seen: list[str] = []
    built: list[int] = []
    original = evidence.build_evidence

    def watch(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM evidence" in statement \
                and "raw_score_id IN" in statement:
            seen.append(statement)

    def counting(*args: Any, **kwargs: Any) -> evidence.EvidenceResult:
        result = original(*args, **kwargs)
        built.append(result.inserted + result.updated + result.unchanged)
        return result

    event.listen(engine, "before_cursor_execute", watch)
    evidence.build_evidence = counting  # type: ignore[assignment]
    try:
        report = definitions.run(factory, settings, "nightly-sync")
    finally:
        evidence.build_evidence = original  # type: ignore[assignment]
        event.remove(engine, "before_cursor_execute", watch)
    assert not report.errors, report.errors
    return len(seen), sum(built)


def test_the_first_load_does_not_look_for_evidence_it_cannot_have(
        settings: Settings, factory: sessionmaker[Session]) -> None:
    first, built = evidence_lookups(factory, settings)
    assert built > 0 and first == 0

    # Building it all again over what the first run wrote must find every piece.
    engine = factory.kw["bind"]
    seen: list[str] = []

    def watch(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM evidence" in statement and "raw_score_id IN" in statement:
            seen.append(statement)

    district_id = ensure_district(factory, settings.district)
    event.listen(engine, "before_cursor_execute", watch)
    try:
        with tenant_session(factory, district_id) as session, session.begin():
            again = evidence.build_evidence(session, settings, evidence.all_scores(session))
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert seen
    assert (again.inserted, again.updated, again.deleted, again.unchanged) == (0, 0, 0, built)


class Repeating(SourceAdapter):
    """Ten people, read in batches of three, one of them named again later with a new name.

    An API source can meet a record twice in one read (a page that shifts while it is
    paged), which the first load's skipped lookup must survive.
    """

    kind = "repeating"
    options_schema = Schema
    settings_type = NoSettings

    def read(self) -> Iterator[Envelope | Rejection]:
        for n in range(10):
            yield Envelope(r.Person(self.key, f"P{n}", "student", f"Student{n}", "Test"),
                           "people", n + 2)
            if n == 6:
                yield Envelope(r.Person(self.key, "P1", "student", "Renamed", "Test"), "people", 99)

    def check(self) -> str:
        return "ok"


def read_people(factory: sessionmaker[Session], settings: Settings,
                monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, int], list[str]]:
    """One read of the repeating source, in batches of 3: its user counts and the lookups."""
    engine = factory.kw["bind"]
    lookups: list[str] = []

    def watch(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM student" in statement and "sourced_id IN" in statement:
            lookups.append(statement)

    event.listen(engine, "before_cursor_execute", watch)
    try:
        report, _ = read_once(factory, settings, monkeypatch, Repeating, 3)
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert report.errors == []
    return report.sources["people"]["users"], lookups


def test_a_first_load_stages_without_lookups_and_survives_a_repeated_key(
        settings: Settings, factory: sessionmaker[Session],
        monkeypatch: pytest.MonkeyPatch) -> None:
    counts, lookups = read_people(factory, settings, monkeypatch)
    # The repeat fails its batch on the natural key, and that batch is staged record by
    # record, with lookups: the person is stored once, with the later name.
    assert (counts["read"], counts["inserted"], counts["updated"], counts["rejected"]) == (
        11, 10, 1, 0)
    assert len(lookups) == 3  # the three people of the refused batch, one at a time
    district = ensure_district(factory, settings.district)
    with tenant_session(factory, district) as session:
        stored = dict(session.execute(select(m.Student.sourced_id, m.Student.given_name)).all())
    assert len(stored) == 10 and stored["P1"] == "Renamed"

    # The next read finds a stored roster: every batch looks its keys up.
    counts, lookups = read_people(factory, settings, monkeypatch)
    assert (counts["inserted"], counts["rejected"]) == (0, 0)
    assert len(lookups) == 4
