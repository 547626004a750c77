"""The same district through Canvas, Google Classroom and Schoology: the same records.

tests/fakes/lms_district.py holds one district's tasks and marks; each seed
puts them into its fake in its vendor's shapes (Canvas submissions with rubric
assessments, Classroom returned grades on course work, Schoology grades by
enrollment), with each vendor's own extras around them (ungraded work, drafts,
unpublished assignments). Read back through the three adapters and named the
way staging will resolve them, the scores on those tasks are identical, and
identical to the marks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.adapters.base import AdapterContext, Envelope
from connector.adapters.sources.canvas import CanvasSource
from connector.adapters.sources.google_classroom import GoogleClassroomSource
from connector.adapters.sources.schoology import SchoologySource
from connector.config.secrets import resolve_secret
from connector.domain import records as r
from connector.errors import Rejection
from tests.conftest import ROOT
from tests.fakes import canvas_seed, google_seed, schoology_seed
from tests.fakes.canvas_server import FakeCanvas
from tests.fakes.google_server import FakeClassroom
from tests.fakes.lms_district import POINTS, marks, title
from tests.fakes.schoology_server import FakeSchoology
from tests.fakes.server import serve

SAMPLE = ROOT / "examples" / "sample-district" / "oneroster"
CONTEXT = AdapterContext(lambda p: Path(p), "America/Denver",
                         lambda ref, purpose: resolve_secret(ref, purpose=purpose))
#: (class, task title, student SIS id, points, out of, graded at)
Row = tuple[str, str, str, float | None, float | None, str]


@pytest.fixture
def plan() -> dict[str, tuple[list[str], list[str]]]:
    return canvas_seed.sample_plan(SAMPLE)


def canonical(records: list[Any], sis_of: dict[str, str]) -> set[Row]:
    """Scores on whole assignments, with the student as staging will resolve them."""
    items = {i.sourced_id: i for i in records if isinstance(i, r.SourceItem)}
    out = set()
    for score in records:
        if not isinstance(score, r.Score) or score.item_sourced_id not in items:
            continue
        item = items[score.item_sourced_id]
        if item.kind != "assignment":
            continue
        student = sis_of.get(score.student.value, score.student.value)
        when = score.scored_at.isoformat() if score.scored_at else ""
        out.add((item.class_sourced_id, item.title, student, score.score,
                 score.max_score or item.result_value_max, when))
    return out


def read(adapter: Any) -> list[Any]:
    records = []
    for entry in adapter.read():
        assert not isinstance(entry, Rejection), entry
        if isinstance(entry, Envelope):
            records.append(entry.record)
    return records


@pytest.fixture
def canvas(plan: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    monkeypatch.setenv("CANVAS_TOKEN", "canvas-token")
    fake = FakeCanvas(throttling=False)
    canvas_seed.seed(fake, plan)
    with serve(fake.app) as url:
        yield read(CanvasSource("canvas", {"base_url": url, "token": "${CANVAS_TOKEN}"},
                                CONTEXT))


@pytest.fixture
def classroom(plan: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    fake = FakeClassroom(delegated={google_seed.ADMIN})
    google_seed.seed(fake, plan, google_seed.emails(SAMPLE))
    with serve(fake.app) as url:
        key, public = google_seed.service_account(url + "/token")
        fake.accounts["connector@cedar-ridge-sync.iam.gserviceaccount.com"] = public
        monkeypatch.setenv("CLASSROOM_KEY", key)
        yield read(GoogleClassroomSource("classroom", {
            "base_url": url, "service_account_key": "${CLASSROOM_KEY}",
            "subject": google_seed.ADMIN}, CONTEXT))


@pytest.fixture
def schoology(plan: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    monkeypatch.setenv("SGY_KEY", "district-key")
    monkeypatch.setenv("SGY_SECRET", "district-secret")
    fake = FakeSchoology()
    schoology_seed.seed(fake, plan)
    with serve(fake.app) as url:
        yield read(SchoologySource("schoology", {
            "base_url": url + "/v1", "consumer_key": "${SGY_KEY}",
            "consumer_secret": "${SGY_SECRET}"}, CONTEXT))


def test_three_lms_adapters_give_the_same_records_for_the_same_district(
        plan: dict[str, Any], canvas: list[Any], classroom: list[Any],
        schoology: list[Any]) -> None:
    by_email = {email: sis for sis, email in google_seed.emails(SAMPLE).items()}
    from_canvas = canonical(canvas, {})
    from_classroom = canonical(classroom, by_email)
    from_schoology = canonical(schoology, {})
    want = {(klass, title(klass, task), sis, mark.points, POINTS, mark.graded_at.isoformat())
            for (klass, task, sis), mark in marks(plan).items()}
    assert len(want) == 900  # three tasks for each student of each class
    assert from_canvas == want
    assert from_classroom == want
    # Schoology stamps grades in whole seconds (a Unix time), which these marks already are.
    assert from_schoology == want
