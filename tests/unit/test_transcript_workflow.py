"""The official transcript's rules: its steps, its frozen snapshot, its DRAFT mark and date."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader

from connector.transcripts import snapshot as snap
from connector.transcripts import workflow as wf
from connector.transcripts.html import render_html
from connector.transcripts.model import Transcript
from connector.transcripts.pdf import render_pdf
from tests.unit.test_transcript_render import make_transcript

WHEN = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def transcript() -> Transcript:
    return make_transcript()


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_snapshot_gives_back_the_transcript_it_froze(transcript: Transcript) -> None:
    frozen = snap.to_snapshot(transcript)
    assert snap.from_snapshot(frozen) == transcript
    # It is plain JSON and hashes the same however its keys were ordered.
    reordered = {"transcript": frozen["transcript"], "snapshot_version": 1}
    assert snap.content_hash(reordered) == snap.content_hash(frozen)


def test_one_changed_value_changes_the_hash_but_not_a_new_date(transcript: Transcript) -> None:
    frozen = snap.to_snapshot(transcript)
    later = snap.to_snapshot(replace(transcript, issued_on=date(2027, 1, 4)))
    assert snap.same_content(frozen, later)  # only the date differs: the same draft
    assert snap.content_hash(frozen) != snap.content_hash(later)
    row = frozen["transcript"]["academic"][0]["groups"][0]["rows"][0]
    changed = snap.to_snapshot(transcript)
    changed["transcript"]["academic"][0]["groups"][0]["rows"][0] = {**row, "evidence_count": 99}
    assert not snap.same_content(frozen, changed)
    assert snap.dated(frozen, date(2027, 1, 4))["transcript"]["issued_on"] == "2027-01-04"


def test_an_unknown_snapshot_version_is_refused_not_misread(transcript: Transcript) -> None:
    with pytest.raises(ValueError, match="snapshot version"):
        snap.from_snapshot({**snap.to_snapshot(transcript), "snapshot_version": 99})


@pytest.mark.parametrize(("step", "rule", "expected"), [
    (wf.Step(wf.DRAFT, 1), wf.after_review, wf.REVIEWED),
    (wf.Step(wf.REVIEWED, 1), wf.after_review, wf.REVIEWED),
    (wf.Step(wf.REVIEWED, 1), wf.after_issue, wf.ISSUED),
    (wf.Step(wf.REVIEWED, 2, issued_version=1, reason="late evidence"), wf.after_issue,
     wf.ISSUED),
    (wf.Step(wf.ISSUED, 1, reason="sent in error"), wf.after_revoke, wf.REVOKED),
    (wf.Step(wf.REVOKED, 1, reason="again"), wf.after_revoke, wf.REVOKED),
])
def test_each_step_that_applies_moves_the_version_on(step: wf.Step, rule, expected) -> None:
    assert rule(step) == expected


@pytest.mark.parametrize(("step", "rule", "says"), [
    (wf.Step(wf.DRAFT, 1), wf.after_issue, "review it before issuing"),
    (wf.Step(wf.REVIEWED, 2, issued_version=1), wf.after_issue, "needs a reason"),
    (wf.Step(wf.REVIEWED, 2, issued_version=1, reason="  "), wf.after_issue, "needs a reason"),
    (wf.Step(wf.SUPERSEDED, 1), wf.after_issue, "only a reviewed draft"),
    (wf.Step(wf.ISSUED, 1), wf.after_review, "only a draft is reviewed"),
    (wf.Step(wf.ISSUED, 1), wf.after_revoke, "needs a reason"),
    (wf.Step(wf.DRAFT, 1, reason="x"), wf.after_revoke, "only the issued version"),
    (wf.Step(wf.SUPERSEDED, 1, reason="x"), wf.after_revoke, "only the issued version"),
])
def test_a_step_that_does_not_apply_says_why(step: wf.Step, rule, says: str) -> None:
    with pytest.raises(wf.WorkflowError, match=says):
        rule(step)


def test_only_an_issued_version_is_unmarked() -> None:
    assert wf.watermark(wf.DRAFT) == wf.watermark(wf.REVIEWED) == "DRAFT"
    assert wf.watermark(wf.ISSUED) is wf.watermark(wf.SUPERSEDED) is None


def test_a_draft_pdf_is_marked_on_every_page_and_dated_when_made(transcript: Transcript) -> None:
    pdf = render_pdf(transcript, watermark="DRAFT", created=WHEN)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    for page in reader.pages:
        text = page.extract_text()
        assert "DRAFT" in text and "not an official transcript" in text
    assert reader.metadata is not None and reader.metadata.creation_date == WHEN
    official = render_pdf(transcript, created=WHEN)
    assert "DRAFT" not in _text(official)
    # The same transcript and date render to the same bytes: a hash of it means something.
    assert render_pdf(transcript, created=WHEN) == official
    assert render_pdf(transcript, created=WHEN.replace(minute=31)) != official


def test_a_draft_page_says_it_is_not_official(transcript: Transcript) -> None:
    assert "not an official transcript" in render_html(transcript, watermark="DRAFT")
    assert "not an official transcript" not in render_html(transcript)
