"""A rerun does not read files it read last time when nothing they are matched against changed.

It still lists the rows those files hold that were refused, reads a file that
changed, and reads an unchanged file again when the roster (or anything else
staging matches rows against) moved, so a row refused for an unknown student is
staged once the student is on the roster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync.district import ensure_district
from tests.conftest import SampleDistrict, own_examples

SCORES = Path("examples/sample-district/adaptive/practice-pal-skills.csv")
ROSTER = Path("examples/sample-district/oneroster")


def _run(district: SampleDistrict, **kwargs: Any) -> Any:
    report = definitions.run(district.factory, district.settings, "nightly-sync", **kwargs)
    assert not report.errors, report.errors
    return report


def _skipped(report: Any) -> set[str]:
    return {key for key in ("sis-gradebook", "practice-pal")
            if any(note.startswith(f"source {key}: the same files") for note in report.notes)}


def _rejections(district: SampleDistrict, run_id: int) -> list[tuple[Any, ...]]:
    district_id = ensure_district(district.factory, district.settings.district)
    r = m.SyncRejection
    with tenant_session(district.factory, district_id) as session:
        return [tuple(row) for row in session.execute(
            select(r.source, r.file, r.row, r.field, r.reason, r.record_key, r.subject)
            .where(r.run_id == run_id).order_by(r.source, r.file, r.row, r.reason))]


def _scores_of(district: SampleDistrict, student: str) -> int:
    district_id = ensure_district(district.factory, district.settings.district)
    with tenant_session(district.factory, district_id) as session:
        return session.scalar(select(func.count()).select_from(m.RawScore)
                              .join(m.Student, m.Student.id == m.RawScore.student_id)
                              .where(m.Student.sourced_id == student)) or 0


def test_a_rerun_skips_both_sources_and_repeats_their_rejections(
        synced_district: SampleDistrict) -> None:
    first = synced_district.first_run
    again = _run(synced_district)
    assert _skipped(again) == {"sis-gradebook", "practice-pal"}
    assert again.changes == 0
    assert again.rejections == first["rejections"] > 0
    # Every row refused by the read that counts is listed in this run, as it was then.
    staged_first = [r for r in _rejections(synced_district, first["run_id"]) if r[0]]
    assert staged_first
    assert [r for r in _rejections(synced_district, again.run_id) if r[0]] == staged_first
    assert again.sources["practice-pal"]["scores"]["read"] == \
        first["sources"]["practice-pal"]["scores"]["read"]
    assert again.sources["practice-pal"]["scores"]["inserted"] == 0

    # A third run repeats them from the second: each run lists them itself.
    third = _run(synced_district)
    assert _skipped(third) == {"sis-gradebook", "practice-pal"}
    assert third.rejections == first["rejections"]
    # It names the run that read the files, not the one that last repeated them.
    assert any(f"the same files as run {first['run_id']} read" in n for n in third.notes)


def test_a_changed_file_is_read_and_its_neighbour_is_not(
        synced_district: SampleDistrict) -> None:
    path = own_examples(synced_district.workspace) / SCORES
    lines = path.read_text().splitlines()
    fields = lines[1].split(",")
    fields[3] = "100" if fields[3] != "100" else "55"
    path.write_text("\n".join([lines[0], ",".join(fields), *lines[2:]]) + "\n")
    report = _run(synced_district)
    assert _skipped(report) == {"sis-gradebook"}
    assert report.sources["practice-pal"]["scores"]["updated"] == 1
    assert report.changes >= 1


def test_a_student_added_to_the_roster_gets_the_scores_refused_before(
        synced_district: SampleDistrict) -> None:
    scores = own_examples(synced_district.workspace) / SCORES
    with scores.open("a") as handle:
        handle.write("S199999,PP-6-RP-1,Grade 6: Unit rates,91,9/11/2025\n")
    first = _run(synced_district)
    assert _scores_of(synced_district, "S199999") == 0
    assert any(r[5] and "S199999" in r[6] for r in _rejections(synced_district, first.run_id))
    assert _skipped(_run(synced_district)) == {"sis-gradebook", "practice-pal"}

    roster = synced_district.workspace / ROSTER
    for name, start in (("users.csv", "S100001,"), ("roles.csv", "role-S100001,")):
        path = roster / name
        row = next(line for line in path.read_text().splitlines() if line.startswith(start))
        with path.open("a") as handle:
            handle.write(row.replace("S100001", "S199999").replace("s100001", "s199999") + "\n")
    report = _run(synced_district)
    # The score file is the same, but the roster it is matched against is not.
    assert _skipped(report) == set()
    assert _scores_of(synced_district, "S199999") == 1


def test_rows_removed_from_the_store_are_read_back_and_a_full_run_reads_everything(
        synced_district: SampleDistrict) -> None:
    district_id = ensure_district(synced_district.factory, synced_district.settings.district)
    with tenant_session(synced_district.factory, district_id) as session, session.begin():
        item = session.scalars(select(m.SourceItem.id).where(
            m.SourceItem.source_system == "practice-pal")).first()
        session.execute(delete(m.RawScore).where(m.RawScore.source_item_id == item))
    report = _run(synced_district)
    assert _skipped(report) == {"sis-gradebook"}
    assert report.sources["practice-pal"]["scores"]["inserted"] > 0

    full = _run(synced_district, full=True)
    assert _skipped(full) == set()
    assert full.changes == 0
