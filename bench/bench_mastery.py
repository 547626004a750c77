"""Benchmark the mastery engine on a generated district, against DuckDB on the same data.

Usage::

    python bench/bench_mastery.py [--students 25000] [--competencies 40] [--per-pair 10]
                                  [--store /tmp/bench-mastery.sqlite3] [--reuse]

Steps: load the district straight into a SQLite store (``connector.sample.bulk``;
not timed), then time

1. DuckDB computing the recursive decaying average (w = 0.65) of every student x
   competency over the same evidence, already in DuckDB memory;
2. the engine's compute alone over the same evidence, already in memory;
3. a full recompute through ``connector.sync.compute.recompute``: reading evidence,
   computing every record with its explanation data, writing, committing;
4. a 1% change: one piece of evidence changed in 1% of the pairs, then the same
   incremental recompute a sync would run for those pairs.

The decaying averages of DuckDB and the engine are compared pair by pair.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from sqlalchemy import select, text

from connector.config.loader import load_settings
from connector.config.model import Settings
from connector.mastery import batch
from connector.persistence import models as m
from connector.persistence.db import make_engine, make_session_factory, upgrade
from connector.persistence.tenancy import tenant_session
from connector.sample import bulk
from connector.sync import compute
from connector.sync.district import ensure_district
from connector.sync.framework_import import import_framework

DISTRICT = """\
district: {key: bench, name: Bench District, timezone: America/Denver}
scale:
  key: b4
  name: four-level scale
  proficient: "3"
  levels:
    - {code: "1", label: Beginning, value: 1}
    - {code: "2", label: Developing, value: 2}
    - {code: "3", label: Proficient, value: 3}
    - {code: "4", label: Advanced, value: 4}
mastery:
  method: decaying_average
  parameters: {weight: 0.65}
  min_evidence: 2
  dok_gate: {enabled: true}
frameworks:
  - {key: bench, location: bench.json}
"""

DUCKDB_DECAYING = """
WITH ordered AS (
  SELECT pair, value,
         row_number() OVER (PARTITION BY pair ORDER BY "at", "key") AS k,
         count(*) OVER (PARTITION BY pair) AS n
  FROM evidence)
SELECT pair, sum(value * CASE WHEN k = 1 THEN pow(0.35, n - 1)
                              ELSE 0.65 * pow(0.35, n - k) END) AS decaying
FROM ordered GROUP BY pair
"""


def _config(folder: Path, competencies: int) -> Settings:
    district = folder / "config" / "districts" / "bench"
    district.mkdir(parents=True)
    (district / "district.yaml").write_text(DISTRICT, encoding="utf-8")
    items = [{"identifier": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-{i}")),
              "fullStatement": f"I can do target {i}.", "humanCodingScheme": f"B.{i:02d}",
              "CFItemType": "Learning Target", "notes": f"DOK {1 + i % 3}"}
             for i in range(competencies)]
    doc = str(uuid.uuid5(uuid.NAMESPACE_URL, "bench-doc"))
    package = {"CFDocument": {"identifier": doc, "title": "Bench framework", "creator": "bench",
                              "lastChangeDateTime": "2025-08-01T00:00:00+00:00"},
               "CFItems": items,
               "CFAssociations": [{"identifier": str(uuid.uuid5(uuid.NAMESPACE_URL, f"a-{i}")),
                                   "associationType": "isChildOf",
                                   "originNodeURI": {"identifier": it["identifier"]},
                                   "destinationNodeURI": {"identifier": doc},
                                   "sequenceNumber": i} for i, it in enumerate(items)]}
    (folder / "bench.json").write_text(json.dumps(package), encoding="utf-8")
    return load_settings(folder / "config")


def _load(url: str, folder: Path, students: int, competencies: int, per_pair: int
          ) -> tuple[Settings, int, float]:
    settings = _config(folder, competencies)
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    district_id = ensure_district(factory, settings.district)
    started = time.perf_counter()
    with tenant_session(factory, district_id) as session, session.begin():
        raw = (folder / "bench.json").read_text(encoding="utf-8")
        import_framework(session, json.loads(raw), raw.encode(), location="bench.json",
                         key="bench", kind="academic", dok_patterns=settings.district.dok_patterns)
        framework_id = session.scalars(select(m.Framework.id)).one()
        ids = list(session.scalars(select(m.Competency.id).order_by(m.Competency.sequence)))
        bulk.load(session.connection(), district_id, framework_id, ids, students=students,
                  per_pair=per_pair)
    engine.dispose()
    return settings, district_id, time.perf_counter() - started


def _arrays(url: str) -> dict[str, np.ndarray[Any, Any]]:
    """The evidence as columns (untimed input for DuckDB and the in-memory engine)."""
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT e.student_id, e.competency_id, e.value, e.observed_at, r.source_system,"
            " r.sourced_id, e.dok, e.evidence_type FROM evidence e"
            " JOIN raw_score r ON r.id = e.raw_score_id")).all()
    engine.dispose()
    cols = list(zip(*rows, strict=True))
    return {"student": np.array(cols[0]), "competency": np.array(cols[1]),
            "value": np.array(cols[2], dtype=float),
            "at": np.array([str(a) for a in cols[3]], dtype="datetime64[us]"),
            "key": np.array([f"{s}:{k}" for s, k in zip(cols[4], cols[5], strict=True)],
                            dtype=object),
            "dok": np.array(cols[6]), "type": np.array(cols[7])}


def measure(students: int = 25_000, competencies: int = 40, per_pair: int = 10,
            store: Path | None = None, reuse: bool = False) -> list[tuple[str, str]]:
    folder = Path(tempfile.mkdtemp(prefix="bench-mastery-"))
    path = store or folder / "bench.sqlite3"
    url = f"sqlite:///{path}"
    if reuse and path.exists():
        settings = _config(folder, competencies)
        loaded = "reused"
    else:
        path.unlink(missing_ok=True)
        settings, _, seconds = _load(url, folder, students, competencies, per_pair)
        loaded = f"{seconds:.0f} s"
    data = _arrays(url)
    pieces = len(data["value"])
    pair = data["student"].astype(np.int64) * 100_000 + data["competency"]

    con = duckdb.connect()
    con.register("src", {"pair": pair, "value": data["value"], "at": data["at"], "key": data["key"]})
    con.execute("CREATE TABLE evidence AS SELECT * FROM src")
    started = time.perf_counter()
    duck = con.execute(DUCKDB_DECAYING).fetchnumpy()
    duck_s = time.perf_counter() - started

    at = data["at"].astype(np.int64)
    started = time.perf_counter()
    engine_pairs, engine_values = batch.decaying_values(pair, at, data["key"], data["value"], 0.65)
    engine_s = time.perf_counter() - started
    order = np.argsort(duck["pair"])
    agree = np.allclose(duck["decaying"][order], engine_values, atol=1e-9) and \
        np.array_equal(duck["pair"][order], engine_pairs)

    # The whole engine (levels, DOK gate, dates, digests) over the same columns.
    kinds = {t: i for i, t in enumerate(batch.TYPE_CODES)}
    cols = batch.Columns(pair=pair, evidence_id=np.arange(pieces), value=data["value"],
                         assessed=at, submitted=at, due=at, key=data["key"], dok=data["dok"],
                         kind=np.array([kinds[t] for t in data["type"].tolist()]),
                         weight=np.ones(pieces))
    policy = settings.district.mastery.default
    started = time.perf_counter()
    competency = data["competency"]
    for c in np.unique(competency).tolist():
        batch.compute(batch.subset(cols, np.flatnonzero(competency == c)),
                      scale=settings.district.scale, policy=policy, target_dok=1 + c % 3)
    full_engine_s = time.perf_counter() - started

    engine = make_engine(url)
    factory = make_session_factory(engine)
    district_id = int(engine.connect().execute(text("SELECT id FROM district")).scalar_one())
    with tenant_session(factory, district_id) as session, session.begin():
        session.execute(text("DELETE FROM mastery_record"))
        pairs = compute.all_pairs(session)
    started = time.perf_counter()
    with tenant_session(factory, district_id) as session, session.begin():
        full = compute.recompute(session, settings, pairs, committed=True)
    full_s = time.perf_counter() - started

    rng = random.Random(11)
    changed = rng.sample(sorted(pairs), max(1, len(pairs) // 100))
    with tenant_session(factory, district_id) as session, session.begin():
        for student_id, competency_id in changed:
            session.execute(text(
                "UPDATE evidence SET value = 5 - value, level_code = CAST(5 - value AS INT),"
                " content_hash = 'f' || substr(content_hash, 2)"
                " WHERE id = (SELECT MAX(id) FROM evidence WHERE student_id = :s"
                " AND competency_id = :c)"), {"s": student_id, "c": competency_id})
    started = time.perf_counter()
    with tenant_session(factory, district_id) as session, session.begin():
        incremental = compute.recompute(session, settings, set(changed), committed=True)
    incremental_s = time.perf_counter() - started
    engine.dispose()

    size = f"{students:,} students x {competencies} competencies, {pieces:,} pieces of evidence"
    return [
        ("Mastery benchmark district", f"{size}; {len(pairs):,} pairs; loaded {loaded}"),
        ("DuckDB decaying averages (in memory)", f"{duck_s:.2f} s"),
        ("Engine decaying averages (in memory)",
         f"{engine_s:.2f} s = {engine_s / duck_s:.1f}x DuckDB (target <= 3x); "
         f"{'agree' if agree else 'DISAGREE'} with DuckDB on every pair"),
        ("Engine, whole rule set (in memory)",
         f"{full_engine_s:.2f} s = {full_engine_s / duck_s:.1f}x DuckDB: levels, minimum, DOK "
         "gate, dates, proficient-since"),
        ("Full recompute, SQLite (read, compute, write, commit)",
         f"{full_s:.1f} s for {full.computed:,} records (target <= 30 s)"),
        ("1% change, SQLite (incremental recompute)",
         f"{incremental_s:.2f} s for {incremental.computed:,} records = "
         f"{incremental_s / full_s:.1%} of the full time (target <= 2%)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=25_000)
    parser.add_argument("--competencies", type=int, default=40)
    parser.add_argument("--per-pair", type=int, default=10)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    for name, value in measure(args.students, args.competencies, args.per_pair, args.store,
                               args.reuse):
        print(f"{name}: {value}", file=sys.stdout)


if __name__ == "__main__":
    main()
