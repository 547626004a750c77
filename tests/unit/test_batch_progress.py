"""A batch of working copies remembers who is done, for its own day and formats only."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from connector.transcripts.batch_progress import PROGRESS_FILE, BatchProgress, write_atomically

DAY = date(2026, 12, 4)


def test_a_resumed_batch_knows_who_is_done_and_a_fresh_one_forgets(tmp_path: Path) -> None:
    first = BatchProgress(tmp_path, DAY, ["pdf", "html"], resume=False)
    first.mark("S1")
    first.mark("S2")  # flushed at once: a kill after this keeps both
    assert (tmp_path / PROGRESS_FILE).read_text().splitlines() == [
        "as-of 2026-12-04 formats html,pdf", "S1", "S2"]
    first.close()
    again = BatchProgress(tmp_path, DAY, ["html", "pdf"], resume=True)
    assert again.done == {"S1", "S2"} and not again.started_over
    again.close()
    fresh = BatchProgress(tmp_path, DAY, ["pdf", "html"], resume=False)
    assert fresh.done == set()
    fresh.finish()  # complete: nothing left to resume
    assert not (tmp_path / PROGRESS_FILE).exists()


def test_resuming_another_days_or_formats_batch_starts_over(tmp_path: Path) -> None:
    batch = BatchProgress(tmp_path, DAY, ["pdf"], resume=False)
    batch.mark("S1")
    batch.close()
    other = BatchProgress(tmp_path, date(2026, 12, 5), ["pdf"], resume=True)
    assert other.done == set() and other.started_over
    other.close()
    assert BatchProgress(tmp_path, date(2026, 12, 5), ["html"], resume=True).started_over
    assert not BatchProgress(tmp_path / "new", DAY, ["pdf"], resume=True).started_over


def test_files_appear_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "S1.pdf"
    target.write_bytes(b"old")
    write_atomically(target, b"%PDF-new")
    assert target.read_bytes() == b"%PDF-new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["S1.pdf"]
