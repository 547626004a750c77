"""A district's first load skips lookups that can only find nothing; a rerun still makes them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from connector.config.model import Settings
from connector.jobs import definitions
from connector.persistence.tenancy import tenant_session
from connector.sync import evidence
from connector.sync.district import ensure_district


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
