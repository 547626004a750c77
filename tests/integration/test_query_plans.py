"""Lookups by raw score never scan a whole district, on either store (read through EXPLAIN).

Every tenant table has an index on ``district_id`` alone, and the tenancy guard adds
``district_id = ?`` to every query. In a one-district store that index matches every row,
yet both planners chose it for "the evidence of these scores": a scan of the district per
call, and per row in retention's NOT EXISTS (3.1 s for 7,900 scores on SQLite). The lookups
below are written as the ORM sends them (``sync/evidence.py``, ``sync/retention.py``), with
the guard's predicate. PostgreSQL may still read a small table whole or hash-join it
(linear); what neither store may do is walk the district's index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.orm import Session

from connector.config.loader import load_settings
from connector.persistence import models as m
from connector.persistence.tenancy import session_district, tenant_session
from connector.sync import content_impact, evidence_views, progress
from connector.sync.district import find_district
from tests.conftest import SampleDistrict

LOOKUPS = {
    "evidence of scores": (
        "SELECT evidence.id FROM evidence WHERE evidence.district_id = {d} "
        "AND evidence.raw_score_id IN ({ids})"),
    "objectives of scores": (
        "SELECT raw_score_objective.id FROM raw_score_objective "
        "WHERE raw_score_objective.district_id = {d} "
        "AND raw_score_objective.raw_score_id IN ({ids})"),
    "scores no evidence uses (retention)": (
        "SELECT count(*) FROM raw_score WHERE raw_score.district_id = {d} "
        "AND NOT EXISTS (SELECT 1 FROM evidence WHERE evidence.raw_score_id = raw_score.id "
        "AND evidence.district_id = {d})"),
}


@pytest.mark.parametrize("lookup", sorted(LOOKUPS))
def test_lookups_by_score_use_an_index_led_by_the_district_or_the_score(
        synced_district: SampleDistrict, lookup: str) -> None:
    factory = synced_district.factory
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with factory() as session:
        ids = [str(i) for i in session.scalars(
            text("SELECT id FROM raw_score WHERE district_id = :d ORDER BY id LIMIT 50"),
            {"d": district})]
        sql = LOOKUPS[lookup].format(d=district, ids=", ".join(ids))
        dialect = session.bind.dialect.name  # type: ignore[union-attr]
        if dialect == "sqlite":
            plan = "\n".join(str(row[-1]) for row in session.execute(
                text("EXPLAIN QUERY PLAN " + sql)))
        else:
            session.execute(text("ANALYZE"))
            plan = "\n".join(row[0] for row in session.execute(text("EXPLAIN " + sql)))
    for table in (m.Evidence, m.RawScoreObjective):
        assert f"ix_{table.__tablename__}_district_id" not in plan, plan  # a district scan
    if dialect == "sqlite":
        # No hash joins in SQLite: a scan inside the lookup is a scan per score.
        assert "SCAN evidence" not in plan and "SCAN raw_score_objective" not in plan, plan
        assert "_district_score" in plan or "uq_evidence_pair" in plan, plan


def _statements(session: Session, work: Callable[[], object]) -> list[tuple[str, Any]]:
    """The SELECTs on evidence and records that ``work`` sends through SQLAlchemy."""
    sent: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
             executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and (
                "FROM evidence" in statement or "FROM mastery_record" in statement):
            sent.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", keep)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    return sent


def _plan(session: Session, statement: str, parameters: Any) -> str:
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        if session.get_bind().dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute("EXPLAIN " + statement, parameters)
        return "\n".join(row[0] for row in cursor.fetchall())
    finally:
        cursor.close()


def test_reports_read_evidence_and_records_from_indexes_that_hold_what_they_count(
        synced_district: SampleDistrict) -> None:
    """DOK exposure, content impact and progress never read the wide rows of a district.

    Evidence rows carry hashes and dates, record rows their whole explanation; a report
    over a district read them all per request (0.6-1.3 s at 3,000 students). The
    statements these reports send, captured as they run, are planned on the indexes led
    by the district that hold every column they read: on SQLite, a covering index; on
    PostgreSQL, never the district-only index.
    """
    factory = synced_district.factory
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    settings = load_settings(synced_district.workspace / "config", "cedar-ridge")
    with tenant_session(factory, district) as session:
        sent = _statements(session, lambda: (
            evidence_views.dok_exposure(session, settings, "school"),
            content_impact.content_impact(session, settings, "school", lambda g, s: True)))
        assert len(sent) >= 3, sent  # per item; classless items' pairs; the providers' uses
        district_id = session_district(session)
        targets = ",".join(str(t.id) for t in progress.targets(session))
        raw = [(progress.SINCE_SQL.format(targets=targets, only=""), (district_id,)),
               (progress.FIRST_EVIDENCE_SQL.format(targets=targets, only=""), (district_id,))]
        if session.get_bind().dialect.name != "sqlite":
            raw = [(sql.replace("?", "%s"), params) for sql, params in raw]
            session.execute(text("ANALYZE"))
        plans = {statement: _plan(session, statement, parameters)
                 for statement, parameters in [*sent, *raw]}
        dialect = session.get_bind().dialect.name
    for statement, plan in plans.items():
        assert "ix_evidence_district_id" not in plan, (statement, plan)
        assert "ix_mastery_record_district_id" not in plan, (statement, plan)
        if dialect == "sqlite":
            lines = [line for line in plan.splitlines()
                     if " evidence" in line or " mastery_record" in line]
            assert lines, (statement, plan)
            for line in lines:
                # From an index holding every column read, or a search on the district
                # and one item at a time (the few items without a class, the providers').
                assert "COVERING INDEX" in line or \
                    "(district_id=? AND source_item_id=?" in line, (statement, plan)
    assert any("COVERING INDEX ix_evidence_district_item" in p for p in plans.values()) or \
        dialect != "sqlite", plans
    assert any("COVERING INDEX ix_mastery_record_district_progress" in p
               for p in plans.values()) or dialect != "sqlite", plans


def test_after_a_sync_the_records_are_read_from_their_index_alone(
        synced_district: SampleDistrict) -> None:
    """After the mastery step the run vacuums evidence and records on PostgreSQL.

    Without it the visibility map of a freshly loaded table is empty, and the planner
    prices an index-only scan with a heap visit per row: a district's progress report
    then read the whole record table (65 MB at 3,000 students) instead of its index
    (``sync/runner.py``). SQLite reads a covering index without such a map.
    """
    factory = synced_district.factory
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session:
        targets = ",".join(str(t.id) for t in progress.targets(session))
    since = progress.SINCE_SQL.format(targets=targets, only="").replace("?", str(district))
    with factory() as session:
        if session.get_bind().dialect.name == "sqlite":
            plan = "\n".join(str(row[-1]) for row in session.execute(
                text("EXPLAIN QUERY PLAN " + since)))
            assert "USING COVERING INDEX ix_mastery_record_district_progress" in plan, plan
            return
        pages = {name: (visible, total) for name, visible, total in session.execute(text(
            "SELECT relname, relallvisible, relpages FROM pg_class"
            " WHERE relname IN ('evidence', 'mastery_record')"))}
        plan = "\n".join(row[0] for row in session.execute(text("EXPLAIN " + since)))
    assert set(pages) == {"evidence", "mastery_record"}
    for name, (visible, total) in pages.items():
        assert total > 0 and visible >= 0.9 * total, (name, visible, total)
    assert "Index Only Scan using ix_mastery_record_district_progress" in plan, plan


@pytest.mark.parametrize("table", ["raw_score", "raw_score_objective", "evidence",
                                   "mastery_record"])
def test_tables_a_sync_fills_have_no_index_on_the_district_alone(engine: Engine,
                                                                 table: str) -> None:
    """Indexes led by the district serve its predicate and cascade (migration 0018).

    A district-only index matches every row of a one-district store, and the planners
    picked it for lookups by other keys.
    """
    found = inspect(engine).get_indexes(table)
    found += [{"column_names": u["column_names"]}
              for u in inspect(engine).get_unique_constraints(table)]
    assert all(i["column_names"] != ["district_id"] for i in found), found
    assert any(i["column_names"][0] == "district_id" and len(i["column_names"]) > 1
               for i in found), found


def test_a_refused_vacuum_is_said_and_does_not_fail_the_run(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Statistics are an optimisation: a refused VACUUM is logged and the run goes on.

    Here PostgreSQL refuses a table that is not there; in a district it would be a role
    that does not own the tables. SQLite gathers its statistics and never vacuums.
    """
    from connector.persistence.db import make_session_factory
    from connector.sync import runner

    monkeypatch.setattr(runner, "_VACUUMED", ("no_such_table",))
    with caplog.at_level("WARNING", logger="connector.sync.runner"):
        runner._refresh_statistics(make_session_factory(engine), 5000, vacuum=True)
    refused = [r for r in caplog.records if "VACUUM" in r.getMessage()]
    if engine.dialect.name == "postgresql":
        assert len(refused) == 1 and "UndefinedTable" in refused[0].getMessage()
    else:
        assert refused == []
        with engine.connect() as connection:
            assert connection.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar() == 1


def test_postgresql_knows_how_many_pairs_evidence_holds(synced_district: SampleDistrict) -> None:
    """Extended statistics on evidence's (student, competency) pairs (migration 0020).

    Without them the planner multiplied the two columns' distinct counts down to a
    quarter of the real number of pairs; at 25,000 students the parallel hash aggregate
    it sized for that spilled for minutes on ``SELECT DISTINCT student_id, competency_id``,
    which the mastery step runs on a full recompute. SQLite keeps no such estimates.
    """
    factory = synced_district.factory
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with factory() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite has no planner estimates of distinct groups to be wrong")
        session.execute(text("ANALYZE evidence"))
        sql = ("SELECT DISTINCT student_id, competency_id FROM evidence"
               f" WHERE district_id = {district}")
        actual = session.scalar(text(f"SELECT count(*) FROM ({sql}) pairs"))
        plan = session.scalar(text("EXPLAIN (FORMAT JSON) " + sql))
    estimated = plan[0]["Plan"]["Plan Rows"]
    assert actual and 0.5 * actual <= estimated <= 2 * actual, (estimated, actual)
