"""Pushing mastery to an Ed-Fi ODS/API (Data Standard 5.x) through the fake ODS.

The fake is seeded from the sample district's OneRoster export the way a state
data hub would hold it: students, schools, grading periods, student-section
associations and learning standards (the CASE items), with Ed-Fi's default
descriptors plus the district's own "Not Yet" and "Insufficient Evidence".
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from connector.adapters.destinations.edfi.destination import EdFiOptions
from connector.config.model import DestinationConfig, Settings
from connector.persistence.tenancy import tenant_session
from connector.sync import safe_push
from connector.sync.district import ensure_district
from connector.sync.overrides import clear_override, set_override
from tests.conftest import ROOT, SampleDistrict, _store
from tests.fakes.edfi_server import FakeEdFi
from tests.fakes.server import serve

SAMPLE = ROOT / "examples" / "sample-district"
ED_FI = "uri://ed-fi.org/"
DISTRICT_NS = "uri://cedar-ridge.example/CompetencyLevelDescriptor#"
SCHOOLS = {"org-crms": 255901001, "org-jhms": 255901002, "org-crhs": 255901003}
PERIOD = (ED_FI + "GradingPeriodDescriptor#End of Year", "2025-2026 End of Year")
GRADE_LEVEL = ED_FI + "GradeLevelDescriptor#Seventh grade"
LEVELS = {"1": ED_FI + "CompetencyLevelDescriptor#Below Basic",
          "2": ED_FI + "CompetencyLevelDescriptor#Basic",
          "3": ED_FI + "CompetencyLevelDescriptor#Proficient",
          "4": ED_FI + "CompetencyLevelDescriptor#Advanced",
          "not_yet": DISTRICT_NS + "Not Yet",
          "insufficient_evidence": DISTRICT_NS + "Insufficient Evidence"}


def _csv(name: str) -> list[dict[str, str]]:
    with (SAMPLE / "oneroster" / name).open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def seeded_ods() -> FakeEdFi:
    fake = FakeEdFi(clients={"connector-key": "connector-secret"})
    fake.add_descriptors("CompetencyLevelDescriptor", [
        ED_FI + f"CompetencyLevelDescriptor#{v}" for v in (
            "Advanced", "Basic", "Below Basic", "Fail", "Pass", "Proficient",
            "Well Below Basic")] + [DISTRICT_NS + "Not Yet", DISTRICT_NS + "Insufficient Evidence"])
    fake.add_descriptors("GradeTypeDescriptor", [ED_FI + f"GradeTypeDescriptor#{v}" for v in (
        "Conduct", "Exam", "Final", "Grading Period", "Mid-Term Grade", "Progress Report",
        "Semester")])
    fake.add_descriptors("GradingPeriodDescriptor", [PERIOD[0]])
    fake.add_descriptors("GradeLevelDescriptor", [GRADE_LEVEL])
    fake.education_organizations = {255901, *SCHOOLS.values()}
    fake.grading_periods = {(PERIOD[0], PERIOD[1], school, 2026) for school in SCHOOLS.values()}
    roles = {r["userSourcedId"]: r["role"] for r in _csv("roles.csv")}
    fake.students = {user for user, role in roles.items() if role == "student"}
    courses = {c["sourcedId"]: c["courseCode"] for c in _csv("courses.csv")}
    terms = {s["sourcedId"]: s["title"] for s in _csv("academicSessions.csv")}
    classes = {c["sourcedId"]: c for c in _csv("classes.csv")}
    for e in _csv("enrollments.csv"):
        if e["role"] != "student":
            continue
        section = classes[e["classSourcedId"]]
        fake.section_associations.add((
            e["beginDate"], courses[section["courseSourcedId"]], SCHOOLS[e["schoolSourcedId"]],
            2026, e["classSourcedId"], terms[section["termSourcedIds"].split(",")[0]],
            e["userSourcedId"]))
    for name in ("cedar-ridge-math-ela.json", "cedar-ridge-habits.json"):
        package = json.loads((SAMPLE / "case" / name).read_text())
        fake.learning_standards.update(item["identifier"] for item in package["CFItems"])
    return fake


@pytest.fixture(scope="module", params=[pytest.param("postgresql", marks=pytest.mark.postgres)])
def module_db_url(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Ed-Fi is a production destination: its pushes are tested on the production store only
    (the OneRoster push tests cover both stores; one backend keeps the suite's time in check)."""
    yield from _store(request, tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def sample_district(small_district: SampleDistrict) -> SampleDistrict:
    """Every record goes over HTTP here, so the small sample (every class and line item of
    the full one, a sixth of its results); the ODS still holds the whole district's roster."""
    return small_district


def serving(fake: FakeEdFi, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeEdFi, str]]:
    """The fake ODS on a local port, with the credentials the destination names in the env."""
    monkeypatch.setenv("EDFI_KEY", "connector-key")
    monkeypatch.setenv("EDFI_SECRET", "connector-secret")
    with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
def ods(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeEdFi, str]]:
    yield from serving(seeded_ods(), monkeypatch)


def with_edfi(settings: Settings, key: str, url: str, **options: Any) -> Settings:
    loaded = EdFiOptions().load({
        "base_url": url, "client_id": "${EDFI_KEY}", "client_secret": "${EDFI_SECRET}",
        "education_organization_id": 255901, "school_year": 2026, "schools": SCHOOLS,
        "grading_period": {"descriptor": PERIOD[0], "name": PERIOD[1]},
        "objective_grade_level": GRADE_LEVEL, "competency_levels": LEVELS,
        "grades": {"enabled": True}, "retry_delay": 0.01, **options})
    config = DestinationConfig(key, "edfi", "State Ed-Fi ODS", loaded)
    return dataclasses.replace(settings, destinations={**settings.destinations, key: config})


def test_competency_levels_and_standard_grades_reach_the_ods(
        sample_district: SampleDistrict, ods: tuple[FakeEdFi, str]) -> None:
    fake, url = ods
    settings = with_edfi(sample_district.settings, "edfi-all", url,
                         gradebook={"enabled": True, "namespace": "uri://cedar-ridge.example"})
    factory = sample_district.factory
    district = ensure_district(factory, settings.district)
    plan = safe_push.plan(factory, district, settings, "edfi-all")
    counts = plan.by_resource()
    assert set(counts) == {"competencyObjectives", "studentCompetencyObjectives", "grades",
                           "gradebookEntries", "studentGradebookEntries"}
    # One gradebook entry per section and competency; one student entry per result.
    assert counts["studentGradebookEntries"]["create"] >= counts["studentCompetencyObjectives"][
        "create"] > counts["gradebookEntries"]["create"]
    assert plan.skipped == ()

    report = safe_push.run(factory, district, settings, "edfi-all")
    assert report.status == "completed", report.problems[:3]
    store = fake.snapshot()
    for resource, row in counts.items():
        assert len(store[resource]) == row["create"]
    # Parents first: every objective was posted before any student result that needs it.
    kinds = [res for res, _s, _b in fake.posts]
    for parent, child in (("competencyObjectives", "studentCompetencyObjectives"),
                          ("gradebookEntries", "studentGradebookEntries")):
        last_parent = max(i for i, res in enumerate(kinds) if res == parent)
        assert last_parent < kinds.index(child)
    assert all(status == 201 for _res, status, _b in fake.posts)
    # Each gradebook entry names its section, and the ODS resolved every one (201 above).
    assert all("sectionReference" in b for b in store["gradebookEntries"].values())
    assert all(len(b["letterGradeEarned"]) <= 20 for b in store["studentGradebookEntries"].values())

    wanted = {json.dumps(c.record.body, sort_keys=True) for c in plan.changes
              if c.resource == "studentCompetencyObjectives" and c.record}
    held = set()
    for body in store["studentCompetencyObjectives"].values():
        clean = {k: v for k, v in body.items() if k not in ("id", "_etag", "_lastModifiedDate")}
        for ref in clean.values():
            if isinstance(ref, dict):
                ref.pop("link", None)
        held.add(json.dumps(clean, sort_keys=True))
    assert held == wanted
    levels = {b["competencyLevelDescriptor"] for b in store["studentCompetencyObjectives"].values()}
    assert levels <= set(LEVELS.values()) and ED_FI + "CompetencyLevelDescriptor#Proficient" in levels
    assert safe_push.plan(factory, district, settings, "edfi-all").changes == ()


def test_refused_records_carry_the_servers_words_and_the_rest_go_through(
        sample_district: SampleDistrict, ods: tuple[FakeEdFi, str]) -> None:
    fake, url = ods
    settings = with_edfi(sample_district.settings, "edfi-refused", url,
                         grades={"enabled": False}, batch_size=50)
    factory = sample_district.factory
    district = ensure_district(factory, settings.district)
    fake.descriptors["CompetencyLevelDescriptor"].discard(LEVELS["4"])
    fake.students.discard("S100004")
    report = safe_push.run(factory, district, settings, "edfi-refused")
    assert report.status == "completed_with_errors"
    by_status: dict[int | None, list[safe_push.Problem]] = {}
    for problem in report.problems:
        by_status.setdefault(problem.http_status, []).append(problem)
    assert set(by_status) == {400, 403}
    assert all("$.competencyLevelDescriptor" in p.message and "#Advanced' does not exist"
               in p.message and "data-validation-failed" in p.message for p in by_status[400])
    assert all("S100004" in p.label for p in by_status[403])
    written = len(fake.snapshot()["studentCompetencyObjectives"])
    assert written == report.counts["create"] - len(fake.snapshot()["competencyObjectives"])
    assert written > 300  # the rest of the small sample went through
    left = safe_push.plan(factory, district, settings, "edfi-refused")
    assert {c.key for c in left.changes} == {p.key for p in report.problems}


def test_unmapped_levels_are_listed_not_sent(
        sample_district: SampleDistrict, ods: tuple[FakeEdFi, str]) -> None:
    _fake, url = ods
    partial = {k: v for k, v in LEVELS.items() if k != "insufficient_evidence"}
    settings = with_edfi(sample_district.settings, "edfi-partial", url, competency_levels=partial,
                         grades={"enabled": False})
    factory = sample_district.factory
    district = ensure_district(factory, settings.district)
    plan = safe_push.plan(factory, district, settings, "edfi-partial")
    assert plan.skipped
    assert all("no CompetencyLevelDescriptor for 'insufficient_evidence'" in why
               for _key, why in plan.skipped)


def test_restore_puts_the_ods_back(sample_district: SampleDistrict,
                                   ods: tuple[FakeEdFi, str]) -> None:
    fake, url = ods
    settings = with_edfi(sample_district.settings, "edfi-restore", url, grades={"enabled": False})
    factory = sample_district.factory
    district = ensure_district(factory, settings.district)
    first = safe_push.run(factory, district, settings, "edfi-restore")
    assert first.status == "completed"
    after_first = fake.snapshot(server_fields=False)
    body = next(b for b in after_first["studentCompetencyObjectives"].values()
                if b["competencyLevelDescriptor"] == LEVELS["2"])
    student = body["studentReference"]["studentUniqueId"]
    objective = body["objectiveCompetencyObjectiveReference"]["objective"]
    with tenant_session(factory, district) as session, session.begin():
        set_override(session, settings, student, objective, level="4", reason="retake",
                     by="teacher:t-2")
    second = safe_push.run(factory, district, settings, "edfi-restore")
    assert second.status == "completed" and second.counts["update"] == 1
    assert fake.snapshot(server_fields=False) != after_first
    undone = safe_push.restore(factory, district, settings, second.run_id)
    assert undone.status == "completed"
    # Same items under the same ids; only the server's etag and timestamp are new.
    assert fake.snapshot(server_fields=False) == after_first
    safe_push.restore(factory, district, settings, first.run_id)
    assert all(rows == {} for rows in fake.snapshot().values())
    with tenant_session(factory, district) as session, session.begin():
        clear_override(session, settings, student, objective, reason="done", by="teacher:t-2")
