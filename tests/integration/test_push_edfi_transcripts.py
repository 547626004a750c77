"""Issued transcripts pushed to an Ed-Fi ODS/API as academic records, through the fake ODS.

A registrar issues Cedar Ridge High School seniors' transcripts; the push sends each as
Ed-Fi keeps a transcript (a StudentAcademicRecord per school year, a CourseTranscript per
course with the credit earned by competency) through the same plan, before-image,
verify, ledger and restore as every record push. The ODS holds the district's course
catalogue at the LEA, as districts load it from the SIS.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from connector.adapters.destinations.edfi.bodies import school_year
from connector.persistence.tenancy import tenant_session
from connector.sync import safe_push
from connector.sync import transcript_documents as docs
from connector.sync.district import ensure_district
from tests.conftest import SampleDistrict, _store
from tests.fakes.edfi_server import FakeEdFi
from tests.integration.test_push_edfi import ED_FI, _csv, seeded_ods, serving, with_edfi

#: A senior, a senior who transferred in (his first three years are another school's credit),
#: and a senior with a teacher's override.
SENIORS = ("S200004", "S200008", "S200012")
LEA = 255901
YEAR_ROUND = ED_FI + "TermDescriptor#Year Round"
PASS, INCOMPLETE = (ED_FI + "CourseAttemptResultDescriptor#Pass",
                    ED_FI + "CourseAttemptResultDescriptor#Incomplete")
SUBJECTS = {s: ED_FI + f"AcademicSubjectDescriptor#{s}" for s in (
    "Mathematics", "English Language Arts", "Science", "Social Studies")}


@pytest.fixture(scope="module", params=[pytest.param("postgresql", marks=pytest.mark.postgres)])
def module_db_url(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A production destination: tested on the production store, as the mastery push is."""
    yield from _store(request, tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def issued(sample_district: SampleDistrict) -> SampleDistrict:
    """The sample district with three seniors' transcripts drafted, reviewed and issued."""
    factory, settings = sample_district.factory, sample_district.settings
    district = ensure_district(factory, settings.district)
    with tenant_session(factory, district) as session, session.begin():
        docs.draft(session, settings, list(SENIORS), by="registrar:r-1")
        for step in ("review", "issue"):
            done = docs.step_many(session, settings, list(SENIORS), step, by="registrar:r-1")
            assert not [s.problem for s in done if s.problem]
    return sample_district


def transcript_ods() -> FakeEdFi:
    fake = seeded_ods()
    fake.add_descriptors("TermDescriptor", [YEAR_ROUND])
    fake.add_descriptors("CourseAttemptResultDescriptor", [
        ED_FI + f"CourseAttemptResultDescriptor#{v}"
        for v in ("Fail", "Incomplete", "Pass", "Withdrawn")])
    fake.add_descriptors("CreditTypeDescriptor", [ED_FI + "CreditTypeDescriptor#Carnegie unit"])
    fake.add_descriptors("MethodCreditEarnedDescriptor",
                         [ED_FI + "MethodCreditEarnedDescriptor#Transfer credit"])
    fake.add_descriptors("AcademicSubjectDescriptor", SUBJECTS.values())
    fake.school_years = {2023, 2024, 2025, 2026}
    fake.courses = {(c["courseCode"], LEA) for c in _csv("courses.csv")}
    return fake


@pytest.fixture
def ods(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeEdFi, str]]:
    yield from serving(transcript_ods(), monkeypatch)


def transcripts_only(district: SampleDistrict, key: str, url: str, **options: Any) -> Any:
    return with_edfi(district.settings, key, url, grades={"enabled": False}, competencies=False,
                     transcripts={"enabled": True, "subjects": SUBJECTS, **options})


def issued_credits(district: SampleDistrict, sis_id: str) -> list[dict[str, Any]]:
    with tenant_session(district.factory, ensure_district(
            district.factory, district.settings.district)) as session:
        version = docs.issued_version(session, sis_id)
        assert version is not None
        return list(version.snapshot["transcript"]["summary"]["credits"])


def test_issued_transcripts_reach_the_ods_as_academic_records(
        issued: SampleDistrict, ods: tuple[FakeEdFi, str]) -> None:
    fake, url = ods
    settings = transcripts_only(issued, "edfi-transcripts", url)
    factory = issued.factory
    district = ensure_district(factory, settings.district)
    plan = safe_push.plan(factory, district, settings, "edfi-transcripts")
    # Competencies are off: only academic records and their course lines.
    assert set(plan.by_resource()) == {"studentAcademicRecords", "courseTranscripts"}
    sent = {s: [c for c in issued_credits(issued, s) if c["earned"] or c["transfer_from"]
                or not c["in_progress"]] for s in SENIORS}
    years = {s: {school_year(c["school_year"]) for c in rows} for s, rows in sent.items()}
    assert plan.count("create") == sum(len(r) for r in sent.values()) + sum(
        len(y) for y in years.values())
    assert plan.skipped == ()

    report = safe_push.run(factory, district, settings, "edfi-transcripts")
    assert report.status == "completed", report.problems[:3]
    store = fake.snapshot(server_fields=False)
    records = {(b["studentReference"]["studentUniqueId"], b["schoolYearTypeReference"]["schoolYear"]): b
               for b in store["studentAcademicRecords"].values()}
    assert set(records) == {(s, y) for s, ys in years.items() for y in ys}
    lines = list(store["courseTranscripts"].values())
    for sis_id, rows in sent.items():
        mine = [b for b in lines
                if b["studentAcademicRecordReference"]["studentUniqueId"] == sis_id]
        assert Counter((b["courseReference"]["courseCode"],
                        b["studentAcademicRecordReference"]["schoolYear"]) for b in mine) == \
            Counter((c["course"], school_year(c["school_year"])) for c in rows)
        # The last year's cumulative credit is every credit the transcript counts as earned.
        last = records[(sis_id, max(years[sis_id]))]
        assert last["cumulativeEarnedCredits"] == pytest.approx(
            sum(c["credits"] for c in rows if c["earned"] or c["transfer_from"]))
        # Records belong to the student's school; courses to the district's catalogue.
        assert {b["studentAcademicRecordReference"]["educationOrganizationId"]
                for b in mine} == {255901003}
        assert {b["courseReference"]["educationOrganizationId"] for b in mine} == {LEA}
    # The transfer student's earlier credit names the school that awarded it.
    transfer = [b for b in lines if b["studentAcademicRecordReference"]["studentUniqueId"]
                == "S200008" and "externalEducationOrganizationNameOfInstitution" in b]
    assert transfer and all(
        b["methodCreditEarnedDescriptor"] == ED_FI + "MethodCreditEarnedDescriptor#Transfer credit"
        and b["courseAttemptResultDescriptor"] == PASS for b in transfer)
    assert all(b["academicSubjects"][0]["academicSubjectDescriptor"] in SUBJECTS.values()
               for b in lines)
    # Records before their course lines: the ODS would refuse a line with no record.
    kinds = [res for res, _status, _body in fake.posts]
    assert max(i for i, k in enumerate(kinds) if k == "studentAcademicRecords") < min(
        i for i, k in enumerate(kinds) if k == "courseTranscripts")

    again = safe_push.plan(factory, district, settings, "edfi-transcripts")
    assert again.changes == () and again.unchanged == report.counts["create"]


def contents_of(snapshot: dict[str, dict[str, dict[str, Any]]]) -> dict[str, list[str]]:
    return {resource: sorted(json.dumps({k: v for k, v in body.items() if k != "id"},
                                        sort_keys=True) for body in rows.values())
            for resource, rows in snapshot.items()}


def contents(fake: FakeEdFi) -> dict[str, list[str]]:
    return contents_of(fake.snapshot(server_fields=False))


def test_a_revoked_transcript_leaves_the_ods_and_a_restore_brings_it_back(
        issued: SampleDistrict, ods: tuple[FakeEdFi, str]) -> None:
    fake, url = ods
    settings = transcripts_only(issued, "edfi-revoke", url)
    factory = issued.factory
    district = ensure_district(factory, settings.district)
    assert safe_push.run(factory, district, settings, "edfi-revoke").status == "completed"
    before = fake.snapshot(server_fields=False)

    def held_by(sis_id: str) -> int:
        rows = fake.snapshot()
        return (sum(1 for b in rows["studentAcademicRecords"].values()
                    if b["studentReference"]["studentUniqueId"] == sis_id)
                + sum(1 for b in rows["courseTranscripts"].values()
                      if b["studentAcademicRecordReference"]["studentUniqueId"] == sis_id))

    with tenant_session(factory, district) as session, session.begin():
        version = docs.issued_version(session, "S200004")
        assert version is not None
        docs.revoke(session, version, by="registrar:r-1", reason="issued to the wrong college")
    try:
        held = held_by("S200004")
        plan = safe_push.plan(factory, district, settings, "edfi-revoke")
        assert plan.count("delete") == held > 0 and plan.count("create") == 0
        # Course lines go first: the ODS refuses to delete a record lines still refer to.
        deletes = [c.resource for c in plan.changes if c.action == "delete"]
        assert deletes == sorted(deletes, key=lambda r: r != "courseTranscripts")
        revoked = safe_push.run(factory, district, settings, "edfi-revoke")
        assert revoked.status == "completed", revoked.problems[:3]
        assert held_by("S200004") == 0 and held_by("S200008") > 0

        undone = safe_push.restore(factory, district, settings, revoked.run_id)
        assert undone.status == "completed", undone.problems[:3]
        # The same records again; the ODS gives a re-created item a new id.
        assert held_by("S200004") == held and contents(fake) == contents_of(before)
    finally:
        with tenant_session(factory, district) as session, session.begin():
            row = docs.latest(session, "S200004")
            row.status, row.closed_at, row.closed_by, row.reason = "issued", None, "", ""


def test_a_course_the_ods_does_not_hold_is_rejected_and_the_rest_goes_on(
        issued: SampleDistrict, ods: tuple[FakeEdFi, str]) -> None:
    fake, url = ods
    fake.courses = {c for c in fake.courses if c[0] != "ALG2"}
    settings = transcripts_only(issued, "edfi-missing-course", url)
    factory = issued.factory
    district = ensure_district(factory, settings.district)
    report = safe_push.run(factory, district, settings, "edfi-missing-course")
    lines = [c for s in SENIORS for c in issued_credits(issued, s)
             if c["course"] == "ALG2" and not (c["in_progress"] and not c["earned"])]
    assert lines and report.counts["rejected"] == len(lines)
    assert all("Course" in p.message and "ALG2" in p.label for p in report.problems)
    assert not any(b["courseReference"]["courseCode"] == "ALG2"
                   for b in fake.snapshot()["courseTranscripts"].values())
    # Once the district loads the course, the next push sends only what was refused.
    fake.courses.add(("ALG2", LEA))
    retry = safe_push.run(factory, district, settings, "edfi-missing-course")
    assert retry.status == "completed" and retry.counts["create"] == len(lines)


def test_an_unmapped_school_is_skipped_with_the_reason(issued: SampleDistrict,
                                                      ods: tuple[FakeEdFi, str]) -> None:
    _fake, url = ods
    settings = transcripts_only(issued, "edfi-no-school", url)
    config = settings.destinations["edfi-no-school"]
    options = {**config.options, "schools": {"org-crms": 255901001}}
    settings = dataclasses.replace(settings, destinations={
        **settings.destinations, "edfi-no-school": dataclasses.replace(config, options=options)})
    plan = safe_push.plan(issued.factory, ensure_district(issued.factory, settings.district),
                          settings, "edfi-no-school")
    assert plan.changes == ()
    assert sorted(key for key, _why in plan.skipped) == [f"transcript {s}" for s in SENIORS]
    assert all("org-crhs" in why for _key, why in plan.skipped)
