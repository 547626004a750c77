"""Content hashes: how staging tells a changed record from one it has already seen."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date, datetime
from enum import Enum
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"cannot hash {type(value).__name__}")


def content_hash(value: Any) -> str:
    """A stable SHA-256 of a record or plain structure (key order and tuple/list agnostic).

    >>> content_hash({"b": 1, "a": [1, 2]}) == content_hash({"a": (1, 2), "b": 1})
    True
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return text_hash(canonical_json(value))


def canonical_json(value: Any) -> str:
    """The text :func:`content_hash` hashes: sorted keys, no spaces.

    A caller hashing many values that share a large part can serialise that part once
    and join the texts, and get the same hash (the push does, per line item).
    """
    return json.dumps(value, sort_keys=True, default=_default, separators=(",", ":"))


def text_hash(body: str) -> str:
    """SHA-256 of canonical JSON text, as :func:`content_hash` gives it."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
