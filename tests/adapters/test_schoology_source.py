"""The Schoology source against the fake Schoology: OAuth 1.0a, 200-row pages, request limit."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from connector.adapters.base import AdapterContext
from connector.adapters.sources.schoology import SchoologySource
from connector.config.secrets import resolve_secret
from connector.domain import records as r
from connector.errors import FatalSourceError
from tests.adapters.lms_support import read, read_until_killed
from tests.conftest import ROOT
from tests.fakes.canvas_seed import generated_plan, sample_plan
from tests.fakes.clock import FakeClock
from tests.fakes.schoology_seed import expected_scores, seed
from tests.fakes.schoology_server import FakeSchoology
from tests.fakes.server import serve

SAMPLE = ROOT / "examples" / "sample-district" / "oneroster"
CONTEXT = AdapterContext(lambda p: ROOT / p, "America/Denver",
                         lambda ref, purpose: resolve_secret(ref, purpose=purpose))


@pytest.fixture
def schoology(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeSchoology, str]]:
    monkeypatch.setenv("SGY_KEY", "district-key")
    monkeypatch.setenv("SGY_SECRET", "district-secret")
    fake = FakeSchoology()
    # Schoology's request limit paces every pull: on a virtual clock the pacing costs no time.
    clock = fake.clock = FakeClock()
    monkeypatch.setattr(sys.modules[__name__], "CONTEXT",
                        dataclasses.replace(CONTEXT, clock=clock, sleep=clock.sleep))
    seed(fake, sample_plan(SAMPLE))
    with serve(fake.app) as url:
        yield fake, url + "/v1"


def source(url: str, clock: FakeClock | None = None, **options: Any) -> SchoologySource:
    return SchoologySource("schoology", {
        "base_url": url, "consumer_key": "${SGY_KEY}", "consumer_secret": "${SGY_SECRET}",
        "retry_delay": 0.01, **options},
        dataclasses.replace(CONTEXT, clock=clock, sleep=clock.sleep) if clock else CONTEXT)


def scores(records: list[Any]) -> dict[str, tuple[str, str, float | None, str]]:
    return {s.sourced_id: (s.item_sourced_id, s.student.value, s.score, s.status)
            for s in records if isinstance(s, r.Score) and not s.deleted}


def test_a_full_pull_gives_every_grade_by_school_uid(
        schoology: tuple[FakeSchoology, str]) -> None:
    fake, url = schoology
    section = min(fake.grades)
    excused, incomplete = fake.grades[section][0], fake.grades[section][1]
    excused.update(grade=None, exception=1)
    incomplete.update(grade=None, exception=2)
    records, rejected = read(source(url))
    assert rejected == []
    assert scores(records) == expected_scores(fake)
    got = scores(records)
    assert got[f"{section}:{excused['assignment_id']}:{excused['enrollment_id']}"][3] == "exempt"
    assert f"{section}:{incomplete['assignment_id']}:{incomplete['enrollment_id']}" not in got
    items = [i for i in records if isinstance(i, r.SourceItem)]
    assert len(items) == 3 * len(fake.sections)  # not the unpublished one, not the unscored
    assert {i.class_sourced_id for i in items} == {
        s[0]["section_school_code"] for s in fake.sections.values()}
    assert all("limit=200" in p for _m, p, _s in fake.calls if "/grades" not in p)


def test_two_hundred_per_page_and_every_page_followed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SGY_KEY", "district-key")
    monkeypatch.setenv("SGY_SECRET", "district-secret")
    fake = FakeSchoology()
    seed(fake, generated_plan(2, 450))  # 451 enrollments a section: three pages
    with serve(fake.app) as url:
        records, rejected = read(source(url + "/v1"))
    assert rejected == [] and scores(records) == expected_scores(fake)
    pages = [p for _m, p, _s in fake.calls if "/enrollments" in p]
    assert len(pages) == 2 * 3


def test_the_request_limit_slows_the_pull_and_never_fails_it(
        schoology: tuple[FakeSchoology, str]) -> None:
    fake, url = schoology
    clock = fake.clock  # windows pass as the adapter waits: no real time (the fixture's clock)
    assert isinstance(clock, FakeClock)
    clean, _ = read(source(url, clock))
    fake.quota, fake.window = 6, 5.0  # Schoology's own window: 5 seconds
    fake.calls.clear()
    records, rejected = read(source(url, clock, window_seconds=5.0, requests_per_window=50))
    assert fake.refused() > 0 and rejected == [] and scores(records) == scores(clean)
    fake.calls.clear()
    fake.sent.clear()
    before = clock.slept
    records, rejected = read(source(url, clock, window_seconds=5.0, requests_per_window=5))
    assert fake.refused() == 0 and rejected == [] and scores(records) == scores(clean)
    requests = len(fake.calls)
    # Paced, not stalled: about one window per five requests, no more.
    assert (requests / 5 - 2) * 5.0 <= clock.slept - before <= (requests / 5 + 1) * 5.0


def test_a_wrong_secret_is_a_clear_error(schoology: tuple[FakeSchoology, str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _fake, url = schoology
    monkeypatch.setenv("SGY_SECRET", "not-the-secret")
    with pytest.raises(FatalSourceError) as caught:
        read(source(url))
    assert "Schoology source 'schoology'" in str(caught.value)
    assert "not-the-secret" not in str(caught.value)


def test_the_next_pull_reads_changed_grades_and_drops_deleted_assignments(
        schoology: tuple[FakeSchoology, str]) -> None:
    fake, url = schoology
    first = source(url)
    read(first)
    section = min(fake.grades)
    scored = {a["id"] for a in fake.assignments[section]
              if a["published"] and float(a["max_points"]) > 0}
    newest = max(g["timestamp"] for g in fake.grades[section] if g["assignment_id"] in scored)
    regraded = fake.grades[section][0]
    regraded.update(grade=24, timestamp=1800000000)
    deleted = fake.assignments[section].pop(1)
    second = source(url)
    second.resume_from(first.cursor())
    fake.calls.clear()
    records, rejected = read(second)
    assert rejected == []
    changed = scores(records)
    key = f"{section}:{regraded['assignment_id']}:{regraded['enrollment_id']}"
    assert changed[key][2] == 24.0
    # Only grades changed since the last pass came back for that section (Schoology's filter
    # includes its bound, so the last pass's newest grades come again, unchanged).
    again = {f"{section}:{g['assignment_id']}:{g['enrollment_id']}" for g in fake.grades[section]
             if g["timestamp"] == newest and g["assignment_id"] in scored}
    assert {k for k in changed if k.startswith(f"{section}:")} <= {key} | again
    assert len(again) < len(fake.grades[section]) // 3
    assert {i.sourced_id for i in records if isinstance(i, r.SourceItem) and i.deleted} == {
        str(deleted["id"])}
    assert any("timestamp=" in p for _m, p, _s in fake.calls if "/grades" in p)


def test_incremental_false_reads_every_grade_again(schoology: tuple[FakeSchoology, str]) -> None:
    # A district that suspects a missed change asks for a full re-read: every grade comes
    # back, no timestamp filter is sent, and the ids kept still find what was deleted.
    fake, url = schoology
    first = source(url)
    read(first)
    deleted = fake.assignments[min(fake.grades)].pop(1)
    again = source(url, incremental=False)
    again.resume_from(first.cursor())
    fake.calls.clear()
    records, rejected = read(again)
    assert rejected == []
    assert not any("timestamp=" in p for _m, p, _s in fake.calls)
    assert set(scores(records)) == {k for k in expected_scores(fake)
                                    if k.split(":")[1] != str(deleted["id"])}
    assert {i.sourced_id for i in records if isinstance(i, r.SourceItem) and i.deleted} == {
        str(deleted["id"])}


def test_an_assignment_published_after_a_pass_brings_its_older_grades(
        schoology: tuple[FakeSchoology, str]) -> None:
    fake, url = schoology
    first = source(url)
    read(first)
    section = min(fake.grades)
    late = next(a for a in fake.assignments[section] if a["published"] == 0)
    late["published"] = 1  # its grades were entered long before the last pass
    second = source(url)
    second.resume_from(first.cursor())
    records, rejected = read(second)
    assert rejected == []
    got = {k for k, v in scores(records).items() if v[0] == str(late["id"])}
    assert got == {k for k, v in expected_scores(fake).items() if v[0] == str(late["id"])}
    assert got


def test_a_killed_pass_resumes_after_the_last_finished_section(
        schoology: tuple[FakeSchoology, str]) -> None:
    fake, url = schoology
    checkpoint, early = read_until_killed(source(url).read(), 4)
    resumed = source(url)
    resumed.resume_from(checkpoint.cursor)
    fake.calls.clear()
    rest, _ = read(resumed)
    done = checkpoint.cursor["pass_done"]
    assert not any(f"/sections/{s}/" in p for s in done for _m, p, _s in fake.calls)
    assert {**scores(early), **scores(rest)} == expected_scores(fake)
    assert not set(scores(early)) & set(scores(rest))


def test_a_missing_exception_is_work_not_submitted(schoology: tuple[FakeSchoology, str]) -> None:
    # Schoology's exception 3 is "missing": not a grade, and not a grade taken back either.
    fake, url = schoology
    section = min(fake.grades)
    missing = fake.grades[section][2]
    missing.update(grade=0, exception=3)
    records, rejected = read(source(url))
    assert rejected == []
    key = f"{section}:{missing['assignment_id']}:{missing['enrollment_id']}"
    assert scores(records)[key][2:] == (None, "not submitted")
