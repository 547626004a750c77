"""The Canvas source against the fake Canvas: complete, quiet about throttling, incremental.

The fake (tests/fakes/canvas_server.py) pages, throttles and fails as Canvas
documents; the seed (tests/fakes/canvas_seed.py) puts the sample district's
classes, students and competencies into it, and says independently which
records the adapter should give.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.adapters.base import AdapterContext, Checkpoint, Envelope
from connector.adapters.sources.canvas import CanvasSource
from connector.config.secrets import resolve_secret
from connector.domain import records as r
from connector.errors import FatalSourceError, Rejection
from tests.adapters.lms_support import read_until_killed
from tests.conftest import ROOT
from tests.fakes.canvas_seed import expected_scores, sample_plan, seed
from tests.fakes.canvas_server import FakeCanvas
from tests.fakes.clock import FakeClock
from tests.fakes.server import serve

SAMPLE = ROOT / "examples" / "sample-district" / "oneroster"


def context(folder: Path = ROOT, clock: FakeClock | None = None) -> AdapterContext:
    timed = {"clock": clock, "sleep": clock.sleep} if clock else {}
    return AdapterContext(lambda p: folder / p, "America/Denver",
                          lambda ref, purpose: resolve_secret(ref, purpose=purpose), **timed)


@pytest.fixture
def canvas(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeCanvas, str]]:
    monkeypatch.setenv("CANVAS_TOKEN", "canvas-token")
    fake = FakeCanvas(throttling=False)
    seed(fake, sample_plan(SAMPLE))
    with serve(fake.app) as url:
        yield fake, url


def source(url: str, folder: Path = ROOT, clock: FakeClock | None = None,
           **options: Any) -> CanvasSource:
    return CanvasSource("canvas-lms", {"base_url": url, "token": "${CANVAS_TOKEN}",
                                       "retry_delay": 0.01, **options}, context(folder, clock))


def read(adapter: CanvasSource) -> tuple[list[Any], list[Rejection], list[Checkpoint]]:
    records, rejections, checkpoints = [], [], []
    for item in adapter.read():
        if isinstance(item, Rejection):
            rejections.append(item)
        elif isinstance(item, Checkpoint):
            checkpoints.append(item)
        else:
            assert isinstance(item, Envelope)
            records.append(item.record)
    return records, rejections, checkpoints


def scores(records: list[Any]) -> dict[str, tuple[str, str, float | str | None, str]]:
    """Score key -> (item, SIS id, the score or, for a rubric rating, its name, status)."""
    return {s.sourced_id: (s.item_sourced_id, s.student.value,
                           s.score if s.score is not None else s.text_score or None, s.status)
            for s in records if isinstance(s, r.Score) and not s.deleted}


def test_a_full_pull_gives_every_item_and_score_with_the_sis_ids(
        canvas: tuple[FakeCanvas, str]) -> None:
    fake, url = canvas
    records, rejected, checkpoints = read(source(url))
    assert rejected == []
    assert scores(records) == expected_scores(fake)
    items = {i.sourced_id: i for i in records if isinstance(i, r.SourceItem)}
    # Each assignment, and each rubric criterion aligned to a CASE competency, is an item;
    # the criterion without an outcome (Neatness) is not.
    assert len([i for i in items.values() if i.kind == "assignment"]) == len(fake.assignments)
    criteria = [i for i in items.values() if i.kind == "rubric_criterion"]
    assert len(criteria) == 2 * len(fake.assignments)
    for item in criteria:
        assignment = fake.assignments[int(item.sourced_id.split(":")[0])]
        (criterion,) = [c for c in assignment["rubric"]
                        if c["id"] == item.sourced_id.split(":")[1]]
        assert item.learning_objectives == (r.LearningObjectiveRef("case",
                                                                   criterion["vendor_guid"]),)
        assert item.result_value_max == 4.0
        assert item.class_sourced_id == fake.courses[assignment["course_id"]]["sis_course_id"]
    # One checkpoint per course; every list asked for Canvas's largest page, every page read.
    assert len(checkpoints) == len(fake.courses)
    assert all("per_page=100" in path for _m, path, _s in fake.calls)
    submission_pages = [p for _m, p, _s in fake.calls if "/students/submissions" in p]
    assert len(submission_pages) == sum(
        -(-len(fake.enrollments[c]) * 3 // 100) for c in fake.courses)


@pytest.mark.parametrize("status", [403, 429])
def test_throttling_slows_the_pull_and_never_fails_it(
        canvas: tuple[FakeCanvas, str], status: int) -> None:
    fake, url = canvas
    clock = fake.clock = FakeClock()  # the bucket drains as the adapter waits: no real time
    clean, _, _ = read(source(url, clock=clock))
    # A small, fast bucket so that the test fills it: 12 requests' worth of room.
    fake.throttling, fake.throttle_status, fake.cost = True, status, 30.0
    fake.bucket_settings = {"hwm": 400.0, "outflow": 300.0, "up_front": 50.0}
    fake.calls.clear()
    fake.buckets.clear()
    # A client that does not pace itself gets refused, and waits the refusals out...
    before = clock.slept
    records, rejected, _ = read(source(url, clock=clock, rate_limit_margin=0,
                                       rate_limit_outflow=300.0))
    assert fake.throttled_count() > 0 and clock.slept > before
    assert rejected == [] and scores(records) == scores(clean)
    # ...one that keeps a margin (three requests in flight) is not: it paces itself instead.
    fake.calls.clear()
    fake.buckets.clear()
    before = clock.slept
    records, rejected, _ = read(source(url, clock=clock, rate_limit_margin=150.0,
                                       rate_limit_outflow=300.0))
    assert rejected == [] and scores(records) == scores(clean)
    assert fake.throttled_count() == 0 and clock.slept > before


def test_outages_and_cut_off_bodies_change_nothing(canvas: tuple[FakeCanvas, str]) -> None:
    fake, url = canvas
    clean, _, _ = read(source(url))
    fake.faults.status(3, 503, path="/students/submissions")
    fake.faults.status(2, 502, path="/enrollments")
    fake.faults.truncate(1, path="/assignments")
    records, rejected, _ = read(source(url))
    assert rejected == [] and scores(records) == scores(clean)
    assert {kind for kind, _m, _p in fake.faults.fired} == {"status", "truncate"}


def test_a_bad_token_names_the_source_and_the_reason(
        canvas: tuple[FakeCanvas, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _fake, url = canvas
    monkeypatch.setenv("CANVAS_TOKEN", "expired-token")
    with pytest.raises(FatalSourceError) as caught:
        read(source(url))
    message = str(caught.value)
    assert "Canvas source 'canvas-lms'" in message and "Invalid access token." in message
    assert "expired-token" not in message


def test_paging_that_loops_is_refused(canvas: tuple[FakeCanvas, str]) -> None:
    fake, url = canvas
    fake.loop_pages = True
    with pytest.raises(FatalSourceError, match="paging does not end"):
        read(source(url, per_page=10))


def test_the_next_pull_reads_only_what_changed_and_removes_what_went(
        canvas: tuple[FakeCanvas, str]) -> None:
    fake, url = canvas
    first = source(url)
    read(first)
    cursor = first.cursor()
    course = min(fake.courses)
    (a1, a2, a3) = sorted(a for a in fake.assignments if fake.assignments[a]["course_id"] == course)
    later = "2026-02-02T10:00:00Z"
    subs = sorted(s for s in fake.submissions if fake.submissions[s]["assignment_id"] == a1)
    regraded, excused, cleared = (fake.submissions[s] for s in subs[:3])
    regraded.update(score=9.5, graded_at=later)
    excused.update(score=None, grade=None, excused=True, graded_at=later)
    cleared.update(score=None, grade=None, graded_at=later)
    fake.assignments[a2]["workflow_state"] = "deleted"
    fake.assignments[a3].update(published=False, workflow_state="unpublished")

    second = source(url)
    second.resume_from(cursor)
    fake.calls.clear()
    records, rejected, _ = read(second)
    assert rejected == []
    changed = {s.sourced_id: s for s in records if isinstance(s, r.Score)}
    # Only the three regraded submissions come back (with their criteria), nothing else.
    assert {k.split(":")[0] for k in changed} == {str(regraded["id"]), str(excused["id"]),
                                                  str(cleared["id"])}
    assert changed[str(regraded["id"])].score == 9.5
    assert changed[str(excused["id"])].status == "exempt"
    assert changed[str(excused["id"])].score is None
    assert changed[str(cleared["id"])].deleted
    assert all(s.deleted for k, s in changed.items() if k.startswith(f"{cleared['id']}:"))
    # The deleted and the unpublished assignment go, with their criteria.
    gone = {i.sourced_id for i in records if isinstance(i, r.SourceItem) and i.deleted}
    assert gone == {str(a2), f"{a2}:_1000", f"{a2}:_1001", str(a3), f"{a3}:_1000",
                    f"{a3}:_1001"}
    asked = [p for _m, p, _s in fake.calls if "/students/submissions" in p]
    assert asked and all("graded_since=" in p for p in asked)
    # And a third pull finds nothing at all.
    third = source(url)
    third.resume_from(second.cursor())
    records, _, _ = read(third)
    assert [x for x in records if isinstance(x, r.Score)] == []
    assert [x for x in records if isinstance(x, r.SourceItem) and x.deleted] == []


def test_a_killed_pass_resumes_after_the_last_finished_course(
        canvas: tuple[FakeCanvas, str]) -> None:
    fake, url = canvas
    checkpoint, _ = read_until_killed(source(url).read(), 2)
    resumed = source(url)
    resumed.resume_from(checkpoint.cursor)
    fake.calls.clear()
    records, _, checkpoints = read(resumed)
    done = checkpoint.cursor["pass_done"]
    assert not any(f"/courses/{c}/" in p for c in done for _m, p, _s in fake.calls)
    assert len(checkpoints) == len(fake.courses) - 2
    everything, _, _ = read(source(url))
    first_two = {k: v for k, v in scores(everything).items()
                 if fake.assignments[int(v[0].split(":")[0])]["course_id"] in map(int, done)}
    assert scores(records) == {k: v for k, v in scores(everything).items()
                               if k not in first_two}
    assert resumed.cursor()["courses"].keys() == {str(c) for c in fake.courses}


def test_students_without_a_sis_id_are_rejected_until_the_crosswalk_names_them(
        canvas: tuple[FakeCanvas, str], tmp_path: Path) -> None:
    fake, url = canvas
    course = min(fake.courses)
    enrollment = fake.enrollments[course][0]
    sis = enrollment["sis_user_id"]
    enrollment["sis_user_id"] = None
    enrollment["user"]["sis_user_id"] = None
    records, rejected, _ = read(source(url))
    assert rejected and {x.field for x in rejected} == {"user_id"}
    assert all(f"Canvas user {enrollment['user_id']} has no SIS id" in x.reason
               for x in rejected)
    in_course = {str(a) for a, v in fake.assignments.items() if v["course_id"] == course}

    def students_scored(found: list[Any]) -> set[str]:
        return {v[1] for v in scores(found).values() if v[0].split(":")[0] in in_course}

    assert sis not in students_scored(records)
    (tmp_path / "crosswalk.csv").write_text(
        "system,kind,external_id,sis_id\n"
        f"canvas-lms,user,{enrollment['user_id']},{sis}\n"
        "another-lms,user,1,S1\n")
    records, rejected, _ = read(source(url, tmp_path, identity_crosswalk="crosswalk.csv"))
    assert rejected == []
    assert sis in students_scored(records)


def test_an_assignment_published_again_brings_its_earlier_grades(
        canvas: tuple[FakeCanvas, str]) -> None:
    fake, url = canvas
    course = min(fake.courses)
    hidden = min(a for a in fake.assignments if fake.assignments[a]["course_id"] == course)
    fake.assignments[hidden].update(published=False, workflow_state="unpublished")
    first = source(url)
    read(first)
    fake.assignments[hidden].update(published=True, workflow_state="published")
    second = source(url)
    second.resume_from(first.cursor())
    records, rejected, _ = read(second)
    assert rejected == []
    got = {k: v for k, v in scores(records).items() if v[0].split(":")[0] == str(hidden)}
    assert got and got == {k: v for k, v in expected_scores(fake).items()
                           if v[0].split(":")[0] == str(hidden)}


def test_missing_work_is_read_as_not_submitted_whatever_its_score(
        canvas: tuple[FakeCanvas, str]) -> None:
    # Canvas marks work past due and not turned in as ``missing``; a late policy may also
    # have given it an automatic score (``late_policy_status: missing``). Neither is a grade.
    fake, url = canvas
    subs = sorted(fake.submissions)
    unsubmitted, penalised, excused = (fake.submissions[subs[0]], fake.submissions[subs[1]],
                                       fake.submissions[subs[2]])
    unsubmitted.update(missing=True, score=None, grade=None, workflow_state="unsubmitted",
                       submitted_at=None, rubric_assessment=None)
    penalised.update(missing=True, late_policy_status="missing", score=0.0, grade="0",
                     submitted_at=None, rubric_assessment=None)
    excused.update(missing=True, excused=True, score=None)
    records, rejected, _ = read(source(url))
    assert rejected == []
    got = scores(records)
    assert got[str(unsubmitted["id"])][2:] == (None, "not submitted")
    assert got[str(penalised["id"])][2:] == (0.0, "not submitted")
    assert got[str(excused["id"])][3] == "exempt"  # excused wins: it is not missing work
    criteria = [k for k in got if k.startswith(f"{unsubmitted['id']}:")]
    assert criteria and all(got[k][2:] == (None, "not submitted") for k in criteria)


@pytest.mark.parametrize("points", [None, 0])
def test_a_score_on_an_assignment_without_points_is_not_read_as_a_percent(
        canvas: tuple[FakeCanvas, str], points: float | None) -> None:
    # 15 points on an assignment with no points possible is not 15%: it is refused with the
    # reason, or (by the district's choice) the assignment is ungraded. Rubric criteria keep
    # their own points either way.
    fake, url = canvas
    assignment = fake.assignments[min(fake.assignments)]
    assignment["points_possible"] = points
    graded = [s for s in fake.submissions.values()
              if s["assignment_id"] == assignment["id"] and s["score"] is not None]
    records, rejected, _ = read(source(url))
    assert {(x.field, x.record_key) for x in rejected} == {
        ("points_possible", str(s["id"])) for s in graded}
    assert "has no points possible" in rejected[0].reason
    got = scores(records)
    assert not {str(s["id"]) for s in graded} & set(got)
    assert any(k.startswith(f"{graded[0]['id']}:") for k in got)  # criteria still count

    records, rejected, _ = read(source(url, no_points_possible="ungraded"))
    assert rejected == []
    assert not {str(s["id"]) for s in graded} & set(scores(records))


def test_the_late_penalty_is_not_evidence_and_lateness_is_kept_apart(
        canvas: tuple[FakeCanvas, str]) -> None:
    # Canvas's score carries the late policy's deduction; entered_score is the grade itself.
    fake, url = canvas
    sub = next(s for s in fake.submissions.values() if s["score"] and s["score"] > 2)
    entered = sub["score"]
    sub.update(late=True, entered_score=entered, score=entered - 2, points_deducted=2.0,
               seconds_late=86400)
    records, rejected, _ = read(source(url))
    assert rejected == []
    score = next(s for s in records if isinstance(s, r.Score) and s.sourced_id == str(sub["id"]))
    assert (score.score, score.late) == (entered, True)
    applied, _, _ = read(source(url, late_penalty="apply"))
    score = next(s for s in applied if isinstance(s, r.Score) and s.sourced_id == str(sub["id"]))
    assert (score.score, score.late) == (entered - 2, True)


def test_outcome_guids_in_any_form_make_criteria_and_ignored_criteria_do_not(
        canvas: tuple[FakeCanvas, str]) -> None:
    fake, url = canvas
    assignment = fake.assignments[min(fake.assignments)]
    aligned = [c for c in assignment["rubric"] if "vendor_guid" in c]
    assert len(aligned) >= 2
    first, second = aligned[0], aligned[1]
    first["vendor_guid"] = f"urn:uuid:{first['vendor_guid'].upper()}"
    second["ignore_for_scoring"] = True
    assignment["rubric"].append({"id": "_9100", "points": 4.0, "description": "State code",
                                 "vendor_guid": "MA.6.RP.1", "ratings": []})
    records, rejected, _ = read(source(url))
    assert rejected == []
    items = {i.sourced_id: i for i in records if isinstance(i, r.SourceItem)}
    aid = assignment["id"]
    assert items[f"{aid}:{first['id']}"].learning_objectives[0].identifier.startswith("urn:uuid:")
    assert f"{aid}:{second['id']}" not in items  # ignore_for_scoring: not evidence
    # A guid that is no CASE id is still an item: mapping lists it as unmapped, with why.
    assert items[f"{aid}:_9100"].learning_objectives[0].identifier == "MA.6.RP.1"
