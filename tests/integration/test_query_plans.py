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

import pytest
from sqlalchemy import text

from connector.persistence import models as m
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
