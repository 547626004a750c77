"""A district of any size loaded straight into the store, for benchmarks of the mastery engine.

A 25,000-student district holds about ten million pieces of evidence; producing
them through CSV exports and a sync would take hours and measure the sources,
not the engine. This writes the same tables a sync writes (students, a framework
of learning targets, items, raw scores, alignments and evidence) directly, with
deterministic values from a seed: scores that mostly climb through the year, a
mix of evidence types and DOK levels, adaptive practice among them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

#: Evidence types with their DOK range and share of evidence.
KINDS = (("teacher_task", (2, 3), 4), ("performance_task", (3, 4), 2),
         ("common_assessment", (2, 3), 1), ("adaptive_practice", (1, 2), 3))
YEAR_START = datetime(2025, 9, 2, 14, 0, tzinfo=UTC)
SOURCE = "bench-lms"


@dataclass(frozen=True)
class BulkCounts:
    students: int
    competencies: int
    items: int
    evidence: int


def _rows(students: int, competencies: int, per_pair: int, seed: int, first_student: int,
          first_item: int) -> Iterator[tuple[int, int, int, int, float, int, str, datetime, int]]:
    """(student, competency, item, attempt, value, dok, type, date, serial) for every piece."""
    rng = random.Random(seed)
    weights = [k[2] for k in KINDS]
    serial = 0
    for s in range(students):
        ability = rng.uniform(-1.0, 1.0)
        for c in range(competencies):
            count = max(1, per_pair + rng.randint(-per_pair // 2, per_pair // 2))
            level = max(1.0, min(4.0, 1.5 + ability + rng.uniform(-0.5, 0.5)))
            day = rng.randint(0, 20)
            for k in range(count):
                kind = rng.choices(KINDS, weights)[0]
                growth = 1.6 * k / max(count - 1, 1)
                value = float(max(1, min(4, round(level + growth + rng.uniform(-1.0, 1.0)))))
                item = c * per_pair * 2 + (k % (per_pair * 2))
                day += rng.randint(3, 14)
                serial += 1
                yield (first_student + s, c, first_item + item, 1 + k // (per_pair * 2), value,
                       rng.randint(*kind[1]), kind[0], YEAR_START + timedelta(days=day), serial)


def load(connection: Connection, district_id: int, framework_id: int,
         competency_ids: list[int], *, students: int, per_pair: int, seed: int = 7,
         batch: int = 200_000) -> BulkCounts:
    """Insert students, items, scores, alignments and evidence for an existing framework."""
    dialect = connection.dialect.name
    now = datetime.now(UTC)

    def stamp(moment: datetime) -> Any:
        return moment.replace(tzinfo=None) if dialect == "sqlite" else moment

    connection.execute(text(
        "INSERT INTO source_system (district_id, key, kind, name) VALUES (:d, :k, 'bench', :k)"),
        {"d": district_id, "k": SOURCE})
    first_student = int(connection.execute(text(
        "SELECT COALESCE(MAX(id), 0) + 1 FROM student")).scalar_one())
    connection.execute(text(
        "INSERT INTO student (id, district_id, source_system, sourced_id, content_hash, updated_at,"
        " given_name, family_name, username, email, identifier, grade, school_sourced_id, enabled)"
        " VALUES (:id, :d, 'bench-sis', :sid, '', :now, 'Student', :fam, '', '', '', '07', 'sch',"
        " true)"),
        [{"id": first_student + i, "d": district_id, "sid": f"B{i:06d}", "fam": f"B{i:06d}",
          "now": stamp(now)} for i in range(students)])
    first_item = int(connection.execute(text(
        "SELECT COALESCE(MAX(id), 0) + 1 FROM source_item")).scalar_one())
    items = len(competency_ids) * per_pair * 2
    connection.execute(text(
        "INSERT INTO source_item (id, district_id, source_system, sourced_id, content_hash,"
        " updated_at, kind, title, description, class_sourced_id, category_sourced_id,"
        " learning_objectives, mapped, mapping_note) VALUES (:id, :d, :src, :sid, '', :now,"
        " 'assignment', :title, '', '', '', '[]', true, '')"),
        [{"id": first_item + i, "d": district_id, "src": SOURCE, "sid": f"item-{i}",
          "title": f"Task {i}", "now": stamp(now)} for i in range(items)])
    kinds = {i: KINDS[i % len(KINDS)] for i in range(items)}
    connection.execute(text(
        "INSERT INTO alignment (district_id, source_item_id, competency_id, dok, evidence_type,"
        " weight, origin) VALUES (:d, :item, :c, :dok, :type, 1.0, 'bench')"),
        [{"d": district_id, "item": first_item + i, "c": competency_ids[i // (per_pair * 2)],
          "dok": kinds[i][1][0], "type": kinds[i][0]} for i in range(items)])
    first_score = int(connection.execute(text(
        "SELECT COALESCE(MAX(id), 0) + 1 FROM raw_score")).scalar_one())
    raw_sql = text(
        "INSERT INTO raw_score (id, district_id, source_system, sourced_id, content_hash,"
        " updated_at, source_item_id, student_id, score, max_score, text_score, status,"
        " scored_at, attempt, comment) VALUES (:id, :d, :src, :sid, :h, :now, :item, :s, :v, 4,"
        " '', 'fully graded', :at, :attempt, '')")
    ev_sql = text(
        "INSERT INTO evidence (district_id, raw_score_id, competency_id, student_id,"
        " source_item_id, attempt, level_code, value, dok, evidence_type, weight, observed_at,"
        " content_hash) VALUES (:d, :id, :c, :s, :item, :attempt, :code, :v, :dok, :type, 1.0,"
        " :at, :h)")
    raw: list[dict[str, Any]] = []
    ev: list[dict[str, Any]] = []
    total = 0
    for s, c, item, attempt, value, dok, kind, when, serial in _rows(
            students, len(competency_ids), per_pair, seed, first_student, first_item):
        row_id = first_score + serial - 1
        common = {"id": row_id, "d": district_id, "item": item, "s": s, "v": value,
                  "at": stamp(when), "attempt": attempt, "h": f"{serial:064x}"}
        raw.append({**common, "src": SOURCE, "sid": f"r{serial:09d}", "now": stamp(now)})
        ev.append({**common, "c": competency_ids[c], "code": str(int(value)), "dok": dok,
                   "type": kind})
        if len(raw) >= batch:
            connection.execute(raw_sql, raw)
            connection.execute(ev_sql, ev)
            total += len(raw)
            raw.clear()
            ev.clear()
    if raw:
        connection.execute(raw_sql, raw)
        connection.execute(ev_sql, ev)
        total += len(raw)
    return BulkCounts(students, len(competency_ids), items, total)
