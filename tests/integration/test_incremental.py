"""A changed export changes exactly what it should: one score in, one delta result out."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync.district import find_district
from tests.conftest import ROOT, SampleDistrict, own_examples

ITEM = "li-cls-crms-ma06-ma-01b"  # a grade-6 quiz on CR.MA.RP.1.a, out of 20 points


def _scored_result() -> tuple[str, str]:
    """(result sourcedId, student) of the first graded result on ITEM in the sample."""
    path = ROOT / "examples" / "sample-district" / "oneroster" / "results.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        row = next(r for r in csv.DictReader(handle)
                   if r["lineItemSourcedId"] == ITEM and r["score"])
    return row["sourcedId"], row["studentSourcedId"]


def _rewrite_result(workspace: Path, sourced_id: str, **changes: str) -> dict[str, str]:
    path = workspace / "examples" / "sample-district" / "oneroster" / "results.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    assert header is not None
    target = next(r for r in rows if r["sourcedId"] == sourced_id)
    old = dict(target)
    target.update(changes)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return old


def _record(factory: sessionmaker[Session], code: str, sis_id: str) -> m.MasteryRecord:
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session:
        return session.execute(
            select(m.MasteryRecord).join(m.Competency, m.Competency.id == m.MasteryRecord.competency_id)
            .join(m.Student, m.Student.id == m.MasteryRecord.student_id)
            .where(m.Competency.human_coding_scheme == code, m.Student.sourced_id == sis_id)
        ).scalar_one()


def test_one_changed_score_flows_through_to_one_delta_result(
        synced_district: SampleDistrict) -> None:
    factory, settings = synced_district.factory, synced_district.settings
    workspace = own_examples(synced_district.workspace)
    first = synced_district.first_run
    result, student = _scored_result()
    before = _record(factory, "CR.MA.RP.1.a", student)

    old = _rewrite_result(workspace, result)
    flipped = "2" if float(old["score"]) >= 10 else "20"  # 10% or 100% of 20: another level
    _rewrite_result(workspace, result, score=flipped)
    second = definitions.run(factory, settings, "nightly-sync")

    scores = second.sources["sis-gradebook"]["scores"]
    assert (scores["inserted"], scores["updated"], scores["unchanged"]) == (0, 1, 18251)
    assert second.evidence["updated"] == 1 and second.evidence["inserted"] == 0
    after = _record(factory, "CR.MA.RP.1.a", student)
    assert after.score is not None and before.score is not None and after.score != before.score
    assert after.decisions != before.decisions
    assert [row[0] for row in after.inputs] == [row[0] for row in before.inputs]
    push = second.push[0]
    # The student is in one math class, and CR.MA.RP.1.a is reported there: one result at most.
    assert push["written"] == (0 if after.level_code == before.level_code else 1)
    assert push["written"] + push["unchanged"] == first["push"][0]["written"]
    if push["written"]:
        with zipfile.ZipFile(push["location"]) as bundle:
            manifest = dict(csv.reader(io.StringIO(bundle.read("manifest.csv").decode())))
            results = list(csv.DictReader(io.StringIO(bundle.read("results.csv").decode())))
        assert manifest["file.results"] == "delta"
        assert [(r["studentSourcedId"], r["status"]) for r in results] == [(student, "active")]
        assert results[0]["dateLastModified"].endswith("Z")


def test_tobedeleted_result_removes_its_evidence(synced_district: SampleDistrict) -> None:
    factory, settings = synced_district.factory, synced_district.settings
    workspace = own_examples(synced_district.workspace)
    result, student = _scored_result()
    before = _record(factory, "CR.MA.RP.1.a", student)

    _rewrite_result(workspace, result, status="tobedeleted", dateLastModified="2026-01-05")
    report = definitions.run(factory, settings, "nightly-sync")

    assert report.sources["sis-gradebook"]["scores"]["deleted"] == 1
    after = _record(factory, "CR.MA.RP.1.a", student)
    assert len(after.inputs) == len(before.inputs) - 1
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session:
        assert session.scalars(select(m.RawScore).where(m.RawScore.sourced_id == result)).first() \
            is None
    again = definitions.run(factory, settings, "nightly-sync")
    assert again.changes == 0
