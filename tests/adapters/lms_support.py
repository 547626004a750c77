"""Helpers the LMS adapter tests share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connector.adapters.base import Checkpoint, Envelope
from connector.errors import Rejection


def read_until_killed(stream: Iterator[Any], finished: int) -> tuple[Checkpoint, list[Any]]:
    """Read until ``finished`` courses are checkpointed, then stop as a killed process would.

    Returns the last checkpoint and every record yielded before it stopped.
    """
    checkpoint = None
    records: list[Any] = []
    for entry in stream:
        if isinstance(entry, Checkpoint):
            checkpoint = entry
            if len(entry.cursor["pass_done"]) == finished:
                break
        elif isinstance(entry, Envelope):
            records.append(entry.record)
    close = getattr(stream, "close", None)
    if close is not None:
        close()
    assert checkpoint is not None, "no course finished"
    return checkpoint, records


def read(adapter: Any) -> tuple[list[Any], list[Rejection]]:
    """Every record and every rejection of one full read."""
    records, rejections = [], []
    for item in adapter.read():
        if isinstance(item, Rejection):
            rejections.append(item)
        elif isinstance(item, Envelope):
            records.append(item.record)
        else:
            assert isinstance(item, Checkpoint)
    return records, rejections
