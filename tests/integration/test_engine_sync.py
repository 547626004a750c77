"""The engine inside a sync: incremental equals full recompute; a rule change touches what it governs."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connector.config.loader import load_settings
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.db import make_engine, make_session_factory, upgrade
from connector.persistence.tenancy import tenant_session
from connector.sync import compute
from connector.sync.district import find_district
from tests.conftest import SampleDistrict, make_workspace, own_examples

RESULTS = Path("examples") / "sample-district" / "oneroster" / "results.csv"
DISTRICT_YAML = Path("config") / "districts" / "cedar-ridge" / "district.yaml"


def _workspace(folder: Path, sample: Path | None = None) -> Path:
    """Config and a copy of the sample data (the shipped one, or another generated one)."""
    return own_examples(make_workspace(folder), sample)


def _edit_results(workspace: Path, change: Callable[[int, dict[str, str]], None]) -> None:
    path = workspace / RESULTS
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    assert header is not None
    for index, row in enumerate(rows):
        change(index, row)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def _edit_policy(workspace: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = workspace / DISTRICT_YAML
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["mastery"])
    path.write_text(yaml.safe_dump(data), encoding="utf-8")


def _sync(factory: sessionmaker[Session], workspace: Path) -> dict[str, Any]:
    report = definitions.run(factory, load_settings(workspace / "config"), "nightly-sync")
    assert report.status != "failed", report.errors
    return report.as_dict()


def _records(factory: sessionmaker[Session]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every record by (SIS id, CASE identifier), without store-specific ids and timestamps."""
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    out = {}
    with tenant_session(factory, district) as session:
        rows = session.execute(
            select(m.MasteryRecord, m.Student.sourced_id, m.Competency.identifier)
            .join(m.Student, m.Student.id == m.MasteryRecord.student_id)
            .join(m.Competency, m.Competency.id == m.MasteryRecord.competency_id))
        for record, sis_id, identifier in rows:
            data = {c.key: getattr(record, c.key) for c in m.MasteryRecord.__table__.columns
                    if c.key not in ("id", "student_id", "competency_id", "district_id",
                                     "computed_at", "input_hash", "override_id")}
            data["inputs"] = [row[1:] for row in record.inputs]  # drop evidence ids
            out[(sis_id, identifier)] = data
    return out


def _store(tmp_path: Path, name: str) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    upgrade(engine)
    return make_session_factory(engine)


def _changes(step: int) -> Callable[[int, dict[str, str]], None]:
    def change(index: int, row: dict[str, str]) -> None:
        if step == 1 and index % 97 == 5 and row["score"]:
            row["score"] = str(max(0.0, float(row["score"]) * 0.5))  # 71 lower scores
        if step == 2 and index % 211 == 7:
            row["status"], row["dateLastModified"] = "tobedeleted", "2026-01-05"
        if step == 2 and index % 229 == 11 and row["score"]:
            row["score"], row["textScore"] = "", "Advanced"  # text-only grade
    return change


def test_incremental_runs_equal_one_full_run(tmp_path: Path, factory: sessionmaker[Session],
                                             small_sample: Path) -> None:
    # Five syncs and a full recompute: the small sample (the same shapes, fewer students).
    workspace = _workspace(tmp_path / "ws", small_sample)
    pairs = _sync(factory, workspace)["mastery"]["recomputed"]
    for step in (1, 2):
        _edit_results(workspace, _changes(step))
        report = _sync(factory, workspace)
        assert 0 < report["mastery"]["recomputed"] < pairs / 2  # incremental, not everything
    _edit_policy(workspace, lambda p: p["framework_overrides"]["habits"].update(method="highest"))
    _sync(factory, workspace)
    incremental = _records(factory)

    # The same final inputs, synced once into an empty store.
    fresh = _store(tmp_path, "fresh.sqlite3")
    _sync(fresh, workspace)
    assert _records(fresh) == incremental

    # And recomputing every pair in place changes nothing.
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    settings = load_settings(workspace / "config")
    with tenant_session(factory, district) as session, session.begin():
        result = compute.recompute(session, settings, compute.all_pairs(session))
    assert result.computed == len(incremental)
    assert (result.inserted, result.updated, result.removed) == (0, 0, 0)


def test_text_scores_become_evidence_and_unknown_ones_are_rejected(
        tmp_path: Path, factory: sessionmaker[Session]) -> None:
    workspace = _workspace(tmp_path / "ws")
    picked: list[str] = []

    def change(index: int, row: dict[str, str]) -> None:
        if row["score"] and len(picked) < 2 and row["lineItemSourcedId"].endswith("-01b"):
            row["score"] = ""
            row["textScore"] = "Advanced" if not picked else "Excellent"
            picked.append(row["sourcedId"])

    _edit_results(workspace, change)
    report = _sync(factory, workspace)
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session:
        values = dict(session.execute(
            select(m.RawScore.sourced_id, m.Evidence.value)
            .join(m.Evidence, m.Evidence.raw_score_id == m.RawScore.id)
            .where(m.RawScore.sourced_id.in_(picked))).all())
        rejected = session.scalars(select(m.SyncRejection).where(
            m.SyncRejection.run_id == report["run_id"], m.SyncRejection.field == "textScore")).all()
    assert values == {picked[0]: 4.0}
    assert [r.record_key for r in rejected] == [picked[1]]
    assert "'Excellent' has no level" in rejected[0].reason


def test_changing_a_method_recomputes_exactly_the_records_it_governs(
        synced_district: SampleDistrict) -> None:
    factory, workspace = synced_district.factory, synced_district.workspace
    district = find_district(factory, "cedar-ridge")
    assert district is not None

    def computed_at() -> dict[tuple[int, int], tuple[str, datetime]]:
        with tenant_session(factory, district) as session:
            return {(r.student_id, r.competency_id): (fw, r.computed_at) for r, fw in session.execute(
                select(m.MasteryRecord, m.Framework.key)
                .join(m.Competency, m.Competency.id == m.MasteryRecord.competency_id)
                .join(m.Framework, m.Framework.id == m.Competency.framework_id))}

    before = computed_at()
    habits = {pair for pair, (fw, _) in before.items() if fw == "habits"}
    assert habits and len(habits) < len(before)
    _edit_policy(workspace, lambda p: p["framework_overrides"]["habits"].update(method="mean"))
    report = _sync(factory, workspace)
    assert report["mastery"]["recomputed"] == len(habits)
    assert report["evidence"]["inserted"] + report["evidence"]["updated"] == 0
    after = computed_at()
    moved = {pair for pair in before if after[pair][1] != before[pair][1]}
    assert moved <= habits  # only habits records were rewritten (and only those that changed)
    # a rerun with the new policy recomputes nothing
    assert _sync(factory, workspace)["mastery"]["recomputed"] == 0


def _level(factory: sessionmaker[Session], sis_id: str, code: str) -> m.MasteryRecord:
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session:
        return session.execute(
            select(m.MasteryRecord).join(m.Student, m.Student.id == m.MasteryRecord.student_id)
            .join(m.Competency, m.Competency.id == m.MasteryRecord.competency_id)
            .where(m.Student.sourced_id == sis_id, m.Competency.human_coding_scheme == code)
        ).scalar_one()


def test_a_child_change_reaches_every_rolled_up_ancestor(
        synced_district: SampleDistrict) -> None:
    from connector.sync.overrides import set_override

    factory, workspace = synced_district.factory, synced_district.workspace
    settings = load_settings(workspace / "config")
    topic, competency = _level(factory, "S100001", "CR.MA.RP.1"), _level(factory, "S100001",
                                                                         "CR.MA.RP")
    assert topic.method == "rollup_all_proficient" and topic.level_code is not None
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session, session.begin():
        set_override(session, settings, "S100001", "CR.MA.RP.1.a", level="1",
                     reason="reassessed in conference", by="teacher-12")
    topic, competency = _level(factory, "S100001", "CR.MA.RP.1"), _level(factory, "S100001",
                                                                         "CR.MA.RP")
    assert topic.level_code == "1" and competency.level_code == "1"
    assert any(c["code"] == "CR.MA.RP.1.a" and c["level"] == "1"
               for c in topic.decisions[0]["children"])

    # Changing the framework's roll-up rule recomputes its parents and nothing else.
    path = workspace / DISTRICT_YAML
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rollups"]["frameworks"]["math-ela"] = {"rule": "mean"}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    report = _sync(factory, workspace)
    with tenant_session(factory, district) as session:
        parents = session.scalar(
            select(func.count()).select_from(m.MasteryRecord)
            .where(m.MasteryRecord.method.like("rollup_%"))) or 0
    assert report["evidence"]["inserted"] + report["evidence"]["updated"] == 0
    assert 0 < report["mastery"]["updated"] <= parents
    assert _level(factory, "S100001", "CR.MA.RP.1").method == "rollup_mean"
    assert _sync(factory, workspace)["mastery"]["recomputed"] == 0


def test_bulk_reads_compute_the_same_records(tmp_path: Path, factory: sessionmaker[Session],
                                            monkeypatch: pytest.MonkeyPatch,
                                            small_sample: Path) -> None:
    """Student-range reads (the SQLite reader process, PostgreSQL COPY) match pair-by-pair reads."""
    from connector.sync import batch_compute

    workspace = _workspace(tmp_path / "ws", small_sample)
    reference = _store(tmp_path, "reference.sqlite3")
    pairs = _sync(reference, workspace)["mastery"]["recomputed"]  # read by listing pairs

    monkeypatch.setattr(batch_compute, "PAIRS_BY_LIST", 10)
    monkeypatch.setattr(batch_compute, "STUDENTS_PER_CHUNK", 5)  # several ranges, read ahead
    report = _sync(factory, workspace)
    assert report["mastery"]["recomputed"] == pairs > 400
    assert _records(factory) == _records(reference)


# ---- missing work ---------------------------------------------------------------------------


def _scored_by_objective(sample: Path) -> set[str]:
    """Results scored per competency: work that was turned in (and stays so here)."""
    path = sample / "oneroster" / "resultLearningObjectiveIds.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        return {row["resultSourcedId"] for row in csv.DictReader(handle)}


def _zeros_for_missing_work(sample: Path, status: str, missing: str
                            ) -> Callable[[int, dict[str, str]], None]:
    """Every 40th graded result becomes work not turned in, with the 0 a gradebook puts on it."""
    kept = _scored_by_objective(sample)

    def change(index: int, row: dict[str, str]) -> None:
        if (row["scoreStatus"] == "fully graded" and index % 40 == 3
                and row["sourcedId"] not in kept):
            row.update(scoreStatus=status, score="0", missing=missing)
        elif row["scoreStatus"] == "fully graded" and index % 55 == 7:
            row["late"] = "true"  # late is a habit too, and changes no level
    return change


#: What the small sample's edited gradebook shows (about a sixth of the full sample's).
SHOWN, MISSING, LATE, LOWERED = 40, 50, 15, 40


def _levels(records: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], tuple]:
    return {k: (r["state"], r["level_code"], r["score"]) for k, r in records.items()}


def test_missing_work_is_not_evidence_of_mastery(tmp_path: Path, factory: sessionmaker[Session],
                                                 small_sample: Path) -> None:
    # The district's by-hand answer: work not turned in changes no level. So the records
    # equal those of the same gradebook without those rows at all. Four syncs: the small
    # sample.
    by_hand = _workspace(tmp_path / "by-hand", small_sample)
    with open(by_hand / RESULTS, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    assert header is not None
    with open(by_hand / RESULTS, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        kept = _scored_by_objective(small_sample)
        writer.writerows(row for index, row in enumerate(rows)
                         if not (row["scoreStatus"] == "fully graded" and index % 40 == 3
                                 and row["sourcedId"] not in kept))
    expected = _store(tmp_path, "by-hand.sqlite3")
    _sync(expected, by_hand)

    # OneRoster says it two ways: scoreStatus "not submitted", or 1.2's missing flag.
    for name, status, missing in (("status", "not submitted", ""),
                                  ("flag", "fully graded", "true")):
        workspace = _workspace(tmp_path / name, small_sample)
        _edit_results(workspace, _zeros_for_missing_work(small_sample, status, missing))
        store = factory if name == "status" else _store(tmp_path, f"{name}.sqlite3")
        _sync(store, workspace)
        got = _records(store)
        assert _levels(got) == _levels(_records(expected)), name
        shown = [r for r in got.values() if any(i[-2] == "missing" for i in r["inputs"])]
        assert len(shown) > SHOWN  # the zeros are in the explanations, not in the levels
        again = _sync(store, workspace)
        assert (again["mastery"]["inserted"], again["mastery"]["updated"]) == (0, 0)
        _assert_missing_work_counted(store, workspace)


def _assert_missing_work_counted(store: sessionmaker[Session], workspace: Path) -> None:
    """The habits-of-work report counts each piece of work not turned in once."""
    from connector.sync.evidence_views import work_habits

    with open(workspace / RESULTS, encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle)
                if r["scoreStatus"] == "not submitted" or r["missing"] == "true"]
    by_student: dict[str, int] = {}
    for row in rows:
        by_student[row["studentSourcedId"]] = by_student.get(row["studentSourcedId"], 0) + 1
    district = find_district(store, "cedar-ridge")
    assert district is not None
    with tenant_session(store, district) as session:
        students = work_habits(session, "student")
        classes = work_habits(session, "class")
    assert {r["student"]: r["missing"] for r in students if r["missing"]} == by_student
    assert sum(r["missing"] for r in classes) == len(rows) > MISSING
    assert students[0]["missing"] == max(by_student.values())  # the most first
    with open(workspace / RESULTS, encoding="utf-8", newline="") as handle:
        late = sum(1 for r in csv.DictReader(handle) if r["late"] == "true")
    assert sum(r["late"] for r in students) == sum(r["late"] for r in classes) == late > LATE


def test_missing_work_counts_at_the_lowest_level_when_the_district_says_so(
        tmp_path: Path, small_sample: Path) -> None:
    # With lowest_level, work not turned in counts as level 1: the same levels as a
    # gradebook where each of those is a real, graded 0.
    zeros = _zeros_for_missing_work(small_sample, "fully graded", "")

    def graded_zeros(index: int, row: dict[str, str]) -> None:
        zeros(index, row)
        if row["scoreStatus"] == "not submitted":  # the sample's own, with blank scores
            row.update(scoreStatus="fully graded", score="0", missing="")

    graded = _workspace(tmp_path / "graded", small_sample)
    _edit_results(graded, graded_zeros)
    expected = _store(tmp_path, "graded.sqlite3")
    _sync(expected, graded)

    workspace = _workspace(tmp_path / "ws", small_sample)
    _edit_results(workspace, _zeros_for_missing_work(small_sample, "not submitted", ""))
    _edit_policy(workspace, lambda p: p.update(missing_work="lowest_level"))
    store = _store(tmp_path, "ws.sqlite3")
    _sync(store, workspace)
    assert _levels(_records(store)) == _levels(_records(expected))
    lowered = [r for r in _records(store).values()
               if any(i[-2] == "missing_at_lowest" for i in r["inputs"])]
    assert len(lowered) > LOWERED


LINE_ITEMS = Path("examples") / "sample-district" / "oneroster" / "lineItems.csv"
SOURCES_YAML = Path("config") / "districts" / "cedar-ridge" / "sources.yaml"
NO_MAX_ITEM = "li-cls-crms-ma06-ma-01a"


def _evidence_keys(store: sessionmaker[Session], item: str) -> set[str]:
    """The raw scores on ``item`` that became evidence, other than work not turned in."""
    district = find_district(store, "cedar-ridge")
    assert district is not None
    with tenant_session(store, district) as session:
        return set(session.scalars(
            select(m.RawScore.sourced_id).join(m.Evidence, m.Evidence.raw_score_id == m.RawScore.id)
            .join(m.SourceItem, m.SourceItem.id == m.RawScore.source_item_id)
            .where(m.SourceItem.sourced_id == item, m.Evidence.missing.is_(False))))


def _set_maximum(workspace: Path, item: str, bounds: tuple[str, str] | None) -> None:
    """Give a line item of the workspace's SIS export new score bounds, or none."""
    path = workspace / LINE_ITEMS
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    assert header is not None
    for row in rows:
        if row["sourcedId"] == item:
            row["resultValueMin"], row["resultValueMax"] = bounds or ("", "")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def _maximum(workspace: Path, item: str) -> tuple[str, str]:
    with open(workspace / LINE_ITEMS, encoding="utf-8", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["sourcedId"] == item)
    return row["resultValueMin"], row["resultValueMax"]


def test_a_line_item_changed_in_the_sis_rebuilds_the_evidence_of_its_scores(
        tmp_path: Path, factory: sessionmaker[Session], small_sample: Path) -> None:
    # The scores are the same rows as before, but what they mean changed with their line
    # item: a maximum taken away refuses them, and a maximum put back reads them again.
    workspace = _workspace(tmp_path / "ws", small_sample)
    bounds = _maximum(workspace, NO_MAX_ITEM)
    _sync(factory, workspace)
    scored = _evidence_keys(factory, NO_MAX_ITEM)
    assert len(scored) >= 3
    before = _records(factory)

    _set_maximum(workspace, NO_MAX_ITEM, None)
    report = _sync(factory, workspace)
    assert report["evidence"]["deleted"] >= len(scored)
    assert _evidence_keys(factory, NO_MAX_ITEM) == set()
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session:
        refused = set(session.scalars(select(m.SyncRejection.record_key).where(
            m.SyncRejection.run_id == report["run_id"],
            m.SyncRejection.field == "resultValueMax")))
    assert refused == scored

    _set_maximum(workspace, NO_MAX_ITEM, bounds)
    _sync(factory, workspace)
    assert _evidence_keys(factory, NO_MAX_ITEM) == scored
    assert _levels(_records(factory)) == _levels(before)


def test_a_score_on_a_line_item_with_no_maximum_is_never_read_as_a_percent(
        tmp_path: Path, factory: sessionmaker[Session], small_sample: Path) -> None:
    # 7 points out of an unknown maximum is not 7%: a OneRoster source rejects the score
    # with the reason, unless the district says what such scores are.
    baseline = _store(tmp_path, "baseline.sqlite3")
    _sync(baseline, _workspace(tmp_path / "baseline", small_sample))
    scored = _evidence_keys(baseline, NO_MAX_ITEM)
    assert len(scored) >= 3

    def without_maximum(folder: Path, rule: str | None) -> Path:
        workspace = _workspace(folder, small_sample)
        _set_maximum(workspace, NO_MAX_ITEM, None)
        if rule is not None:
            sources = yaml.safe_load((workspace / SOURCES_YAML).read_text(encoding="utf-8"))
            sources["sources"][0]["score_conversion"]["without_maximum"] = rule
            (workspace / SOURCES_YAML).write_text(yaml.safe_dump(sources), encoding="utf-8")
        return workspace

    def refused(store: sessionmaker[Session], run_id: int) -> list[m.SyncRejection]:
        district = find_district(store, "cedar-ridge")
        assert district is not None
        with tenant_session(store, district) as session:
            return list(session.scalars(select(m.SyncRejection).where(
                m.SyncRejection.run_id == run_id, m.SyncRejection.field == "resultValueMax")))

    workspace = without_maximum(tmp_path / "default", None)
    report = _sync(factory, workspace)
    rejected = refused(factory, report["run_id"])
    assert {r.record_key for r in rejected} == scored
    assert f"item {NO_MAX_ITEM!r} has no maximum score" in rejected[0].reason
    assert _evidence_keys(factory, NO_MAX_ITEM) == set()
    again = _sync(factory, workspace)  # refused again, and nothing else changes
    assert (again["mastery"]["inserted"], again["mastery"]["updated"]) == (0, 0)

    ungraded = _store(tmp_path, "ungraded.sqlite3")
    report = _sync(ungraded, without_maximum(tmp_path / "ungraded", "ungraded"))
    assert refused(ungraded, report["run_id"]) == []
    assert _evidence_keys(ungraded, NO_MAX_ITEM) == set()

    percent = _store(tmp_path, "percent.sqlite3")
    _sync(percent, without_maximum(tmp_path / "percent", "percent"))
    assert _evidence_keys(percent, NO_MAX_ITEM) == scored
