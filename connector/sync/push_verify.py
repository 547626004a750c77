"""Judging a write by reading the record back, and reading records safely.

A write counts as done only when the destination, read again, holds what was sent
(server-set fields aside). A transport failure that outlasts the client's retries
becomes a record's outcome, never a crash of the push.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from connector.adapters.destinations.records import Answer, RecordClient, RemoteRecord, matches
from connector.errors import SourceError
from connector.persistence.models import PushStatus
from connector.sync.push_diff import Change

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    status: PushStatus
    answer: Answer | None
    after: Mapping[str, Any] | None
    transport: bool = False


def outcome(change: Change, answer: Answer | None, check: Answer | None,
             ignore: frozenset[str]) -> Outcome:
    """What became of one write, judged by reading the record back."""
    if answer is None:
        return Outcome(PushStatus.FAILED, None, None, transport=True)
    if not answer.ok:
        return Outcome(PushStatus.REJECTED, answer, None)
    after = check.body if check is not None and check.ok else None
    if change.action == "delete":
        gone = check is not None and check.ok and check.body is None
        return Outcome(PushStatus.OK if gone else PushStatus.MISMATCH, answer, after)
    assert change.record is not None
    if matches(change.record.body, after, ignore):
        return Outcome(PushStatus.OK, answer, after)
    return Outcome(PushStatus.MISMATCH, Answer(False, answer.status,
                                       "the destination does not hold what was written",
                                       remote_id=answer.remote_id), after)


def read_all(client: RecordClient, pool: ThreadPoolExecutor,
              records: list[RemoteRecord]) -> list[Answer | None]:
    """Each record's current state; batched where the API can list many at once."""
    try:
        found = client.read_many(records)
    except SourceError as exc:
        log.warning("push: batched read failed (%s); reading record by record", exc.message)
        found = {}
    rest = [r for r in records if r.key not in found]

    def one(record: RemoteRecord) -> Answer | None:
        return guard(lambda: client.read(record))

    found.update({r.key: a for r, a in zip(rest, pool.map(one, rest), strict=True)
                  if a is not None})
    return [found.get(r.key) for r in records]


def guard(call: Callable[[], Answer]) -> Answer | None:
    """A transport failure that outlasted the retries becomes a failed record, not a crash."""
    try:
        return call()
    except SourceError as exc:
        log.warning("push: %s", exc.message)
        return None


def addressed(change: Change) -> RemoteRecord:
    return change.record or RemoteRecord(change.resource, change.key, change.remote_id, {}, 0)


def body(answer: Answer | None) -> dict[str, Any] | None:
    return dict(answer.body) if answer is not None and answer.body is not None else None


def strip(body: Mapping[str, Any], ignore: Iterable[str]) -> dict[str, Any]:
    drop = set(ignore)
    return {k: v for k, v in body.items() if k not in drop}
