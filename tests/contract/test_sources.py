"""One contract, every registered source: the same promises against each vendor's fake.

Each check runs over every source it can apply to (tests/contract/harnesses.py
says which cannot, and why); a source added to the registry without a harness
fails the first test. The promises:

- **same records**: a full read gives exactly the facts the district's data holds;
- **rerun**: a second read from the first one's cursor gives nothing new, nothing
  changed and nothing deleted;
- **kill and resume**: a read stopped after a checkpoint, then resumed from it, gives
  with what was committed before the kill exactly what one whole read gives;
- **bad credentials**: a clear error that names the source and holds no secret;
- **paging loop**: a pager sent back to a page it read is refused, not followed forever;
- **throttling**: the vendor's refusals are waited out (on a virtual clock) and the
  read gives the same facts;
- **deletions**: a record deleted at the source is deleted by the next read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.adapters.base import Checkpoint, Envelope, SourceAdapter
from connector.adapters.registry import SOURCES
from connector.errors import ConnectorError, Rejection
from tests.contract.harnesses import CHECKS, HARNESSES, HOOKS, Harness, applicable, harness


@pytest.fixture
def running(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    yield from harness(request.param, tmp_path, monkeypatch)


def read(adapter: SourceAdapter, refused: list[Rejection] | None = None) -> list[Any]:
    """Every record of one read; rejections go to ``refused``."""
    records = []
    for entry in adapter.read():
        if isinstance(entry, Rejection):
            (refused if refused is not None else []).append(entry)
        elif isinstance(entry, Envelope):
            records.append(entry.record)
    return records


def over(check: str) -> Any:
    return pytest.mark.parametrize("running", applicable(check), indirect=True)


def test_every_registered_source_has_a_harness_and_says_why_a_check_does_not_apply() -> None:
    assert set(HARNESSES) == set(SOURCES)
    for kind, harness_class in HARNESSES.items():
        assert set(harness_class.not_applicable) <= set(CHECKS), kind
        assert all(len(why) > 20 for why in harness_class.not_applicable.values()), kind
        for check, hooks in HOOKS.items():
            if check not in harness_class.not_applicable:
                assert all(callable(getattr(harness_class, h, None)) for h in hooks), (kind, check)
    # Each promise holds for most sources, and the data checks hold for every one.
    for check in ("same_records", "rerun", "kill_and_resume"):
        assert applicable(check) == sorted(SOURCES), check


@over("same_records")
def test_a_full_read_gives_the_districts_records(running: Harness) -> None:
    expected = running.expected()
    assert len(expected) >= 100
    refused: list[Rejection] = []
    assert running.facts(read(running.source(), refused)) == expected
    assert {(rejection.file, rejection.row) for rejection in refused} == \
        running.expected_rejections()
    assert all(rejection.reason for rejection in refused)


@over("rerun")
def test_a_rerun_from_the_cursor_changes_nothing(running: Harness) -> None:
    first = running.source()
    facts = running.facts(read(first))
    again = running.source()
    again.resume_from(first.cursor())
    records = read(again)
    assert not any(getattr(record, "deleted", False) for record in records)
    assert running.facts(records) <= facts


@over("kill_and_resume")
def test_a_read_killed_after_a_checkpoint_resumes_with_nothing_lost(running: Harness) -> None:
    whole = running.expected()
    killed = running.source()
    stream = killed.read()
    committed: list[Any] = []
    pending: list[Any] = []
    cursor: dict[str, Any] = {}
    for entry in stream:
        if isinstance(entry, Checkpoint):
            committed += pending
            pending = []
            cursor = dict(entry.cursor)
            break  # killed right after the first commit
        if isinstance(entry, Envelope):
            pending.append(entry.record)
    stream.close()
    resumed = running.source()
    resumed.resume_from(cursor)  # what the shell stored with the last commit, or nothing
    after = read(resumed)
    assert running.facts(committed) | running.facts(after) == whole
    if cursor:  # what was committed is not read again
        assert running.facts(committed) and not running.facts(committed) & running.facts(after)


@over("bad_credentials")
def test_bad_credentials_are_a_clear_error_naming_the_source_without_the_secret(
        running: Harness) -> None:
    running.break_credentials()
    adapter = running.source()
    with pytest.raises(ConnectorError) as caught:
        read(adapter)
    message = str(caught.value)
    assert repr(running.kind) in message or running.kind in message
    assert running.secret not in message and running.secret not in repr(caught.value.context)
    with pytest.raises(ConnectorError) as checked:
        adapter.check()
    assert running.secret not in str(checked.value)


@over("paging_loop")
def test_a_pager_sent_back_to_a_page_it_read_is_refused(running: Harness) -> None:
    options = running.loop_pages()
    with pytest.raises(ConnectorError, match="paging does not end") as caught:
        read(running.source(**options))
    assert running.kind in str(caught.value)


@over("throttling")
def test_throttling_is_waited_out_and_the_read_is_the_same(running: Harness) -> None:
    clean = running.facts(read(running.source()))
    options = running.throttle()
    before = running.clock.slept
    assert running.facts(read(running.source(**options))) == clean
    assert running.refusals() > 0
    assert running.clock.slept > before  # waited, on the virtual clock


@over("deletions")
def test_a_record_deleted_at_the_source_is_deleted_by_the_next_read(running: Harness) -> None:
    first = running.source()
    read(first)
    gone = running.delete_one()
    later = running.source()
    later.resume_from(first.cursor())
    deleted = {record.sourced_id for record in read(later) if getattr(record, "deleted", False)}
    assert gone in deleted
