"""Small helpers the sync steps share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")

#: Keys per ``IN (...)`` clause: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 500


def chunks(values: Iterable[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start:start + size]
