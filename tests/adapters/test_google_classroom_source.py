"""The Google Classroom source against the fake Classroom: delegated auth, quota, snapshots."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from connector.adapters.base import AdapterContext, Envelope
from connector.adapters.sources.google_classroom import GoogleClassroomSource
from connector.config.secrets import resolve_secret
from connector.domain import records as r
from connector.errors import FatalSourceError
from tests.adapters.lms_support import read, read_until_killed
from tests.conftest import ROOT
from tests.fakes.canvas_seed import sample_plan
from tests.fakes.clock import FakeClock
from tests.fakes.google_seed import ADMIN, emails, expected_scores, seed, service_account
from tests.fakes.google_server import FakeClassroom
from tests.fakes.server import serve

SAMPLE = ROOT / "examples" / "sample-district" / "oneroster"
CONTEXT = AdapterContext(lambda p: ROOT / p, "America/Denver",
                         lambda ref, purpose: resolve_secret(ref, purpose=purpose))


@pytest.fixture
def classroom(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeClassroom, str]]:
    fake = FakeClassroom(delegated={ADMIN})
    seed(fake, sample_plan(SAMPLE), emails(SAMPLE))
    with serve(fake.app) as url:
        key, public = service_account(url + "/token")
        fake.accounts["connector@cedar-ridge-sync.iam.gserviceaccount.com"] = public
        monkeypatch.setenv("CLASSROOM_KEY", key)
        yield fake, url


def source(url: str, clock: FakeClock | None = None, **options: Any) -> GoogleClassroomSource:
    return GoogleClassroomSource("classroom", {
        "base_url": url, "service_account_key": "${CLASSROOM_KEY}", "subject": ADMIN,
        "retry_delay": 0.01, **options},
        dataclasses.replace(CONTEXT, clock=clock, sleep=clock.sleep) if clock else CONTEXT)


def sis_by_user(fake: FakeClassroom) -> dict[str, str]:
    by_email = {v: k for k, v in emails(SAMPLE).items()}
    return {s["userId"]: by_email[s["profile"]["emailAddress"]]
            for rows in fake.students.values() for s in rows}


def scores(records: list[Any]) -> dict[str, tuple[str, str, float | None]]:
    sis = {v: k for k, v in emails(SAMPLE).items()}
    return {s.sourced_id: (s.item_sourced_id, sis.get(s.student.value, s.student.value), s.score)
            for s in records if isinstance(s, r.Score) and not s.deleted}


def test_a_full_pull_gives_returned_grades_on_graded_work_by_roster_email(
        classroom: tuple[FakeClassroom, str]) -> None:
    fake, url = classroom
    drafted = next(s for s in fake.submissions[min(fake.submissions)] if "assignedGrade" in s)
    drafted.pop("assignedGrade")  # the teacher changed the grade and has not returned it yet
    drafted["draftGrade"] = 1
    records, rejected = read(source(url))
    assert rejected == []
    assert scores(records) == expected_scores(fake, sis_by_user(fake))
    assert drafted["id"] not in scores(records)
    assert all(s.student.kind == "email" for s in records if isinstance(s, r.Score))
    items = [i for i in records if isinstance(i, r.SourceItem)]
    # Graded, published work only: not the ungraded item, not the draft.
    assert len(items) == 3 * len(fake.courses)
    assert {i.class_sourced_id for i in items} == {a[0][2:] for a in fake.aliases.values()}
    assert all(i.result_value_max == 10.0 for i in items)
    # The server gave at most 100 submissions a page; every page was followed.
    pages = [p for _m, p, _s in fake.calls if "studentSubmissions" in p]
    assert len(pages) == sum(-(-len(s) // 100) for s in fake.submissions.values())


def test_the_quota_slows_the_pull_and_never_fails_it(
        classroom: tuple[FakeClassroom, str]) -> None:
    fake, url = classroom
    clock = fake.clock = FakeClock()  # the minute passes as the adapter waits: no real time
    clean, _ = read(source(url, clock))
    fake.quota, fake.window = 8, 60.0  # Google's own window: a minute
    fake.calls.clear()
    # A client that ignores the quota is refused (429 RESOURCE_EXHAUSTED) and waits it out...
    records, rejected = read(source(url, clock, quota_window_seconds=60.0))
    assert fake.refused() > 0 and rejected == [] and scores(records) == scores(clean)
    # ...one that keeps to it is never refused.
    fake.calls.clear()
    fake.sent.clear()
    records, rejected = read(source(url, clock, requests_per_minute=7, quota_window_seconds=60.0))
    assert fake.refused() == 0 and rejected == [] and scores(records) == scores(clean)


def test_expired_tokens_and_outages_change_nothing(classroom: tuple[FakeClassroom, str]) -> None:
    fake, url = classroom
    clean, _ = read(source(url))
    fake.faults.status(2, 503, path="studentSubmissions")
    fake.faults.truncate(1, path="/students")
    seen = []
    for item in source(url).read():
        if isinstance(item, Envelope):
            seen.append(item.record)
            if len(seen) == 200:
                fake.revoke_all()  # the access token expires mid-run
    assert scores(seen) == scores(clean)
    assert any(status == 401 for _m, _p, status in fake.calls)


def test_missing_delegation_is_a_clear_error_without_the_key(
        classroom: tuple[FakeClassroom, str]) -> None:
    fake, url = classroom
    fake.delegated = set()
    with pytest.raises(FatalSourceError) as caught:
        read(source(url))
    message = str(caught.value)
    assert "Google Classroom source 'classroom'" in message and "unauthorized_client" in message
    assert "PRIVATE KEY" not in message


def test_deleted_work_and_withdrawn_grades_are_removed_on_the_next_pass(
        classroom: tuple[FakeClassroom, str]) -> None:
    fake, url = classroom
    first = source(url)
    read(first)
    course = min(fake.courses)
    deleted_work = fake.course_work[course][0]
    deleted_work["state"] = "DELETED"
    withdrawn = next(s for s in fake.submissions[course]
                     if s["courseWorkId"] == fake.course_work[course][1]["id"]
                     and "assignedGrade" in s)
    withdrawn.pop("assignedGrade")
    second = source(url)
    second.resume_from(first.cursor())
    records, rejected = read(second)
    assert rejected == []
    assert {i.sourced_id for i in records if isinstance(i, r.SourceItem) and i.deleted} == {
        deleted_work["id"]}
    removed = {s.sourced_id for s in records if isinstance(s, r.Score) and s.deleted}
    assert removed == {s["id"] for s in fake.submissions[course]
                       if s["courseWorkId"] == deleted_work["id"] and "assignedGrade" in s
                       } | {withdrawn["id"]}
    third = source(url)
    third.resume_from(second.cursor())
    records, _ = read(third)
    assert not [x for x in records if getattr(x, "deleted", False)]


def test_students_without_an_email_are_rejected_until_the_crosswalk_names_them(
        classroom: tuple[FakeClassroom, str], tmp_path: Any) -> None:
    fake, url = classroom
    course = min(fake.courses)
    student = fake.students[course][0]
    email = student["profile"].pop("emailAddress")
    records, rejected = read(source(url))
    assert rejected and {x.field for x in rejected} == {"user_id"}
    assert all(f"Google user {student['userId']} has no email" in x.reason for x in rejected)
    sis = {v: k for k, v in emails(SAMPLE).items()}[email]
    (tmp_path / "ids.csv").write_text("system,kind,external_id,sis_id\n"
                                      f"classroom,user,{student['userId']},{sis}\n")
    context = AdapterContext(lambda p: tmp_path / p, "America/Denver",
                             lambda ref, purpose: resolve_secret(ref, purpose=purpose))
    fixed = GoogleClassroomSource("classroom", {
        "base_url": url, "service_account_key": "${CLASSROOM_KEY}", "subject": ADMIN,
        "identity_crosswalk": "ids.csv"}, context)
    records, rejected = read(fixed)
    assert rejected == []
    assert r.StudentRef("sourced_id", sis) in {s.student for s in records
                                               if isinstance(s, r.Score)}


def test_a_killed_pass_resumes_after_the_last_finished_course(
        classroom: tuple[FakeClassroom, str]) -> None:
    fake, url = classroom
    checkpoint, early = read_until_killed(source(url).read(), 3)
    resumed = source(url)
    resumed.resume_from(checkpoint.cursor)
    fake.calls.clear()
    rest, _ = read(resumed)
    done = checkpoint.cursor["pass_done"]
    assert not any(f"/courses/{c}/" in p for c in done for _m, p, _s in fake.calls)
    assert scores(early) | scores(rest) == expected_scores(fake, sis_by_user(fake))
    assert not set(scores(early)) & set(scores(rest))
