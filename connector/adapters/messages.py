"""Marshmallow's error structures as sentences: ``field.path: what is wrong``.

Marshmallow reports problems as nested dicts and lists (``{'reason': ['Missing data for
required field.']}``). Nobody reading an error should see Python's notation for those.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def flatten(messages: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(key path, message) for every message; list indexes as ``[2]``.

    >>> list(flatten({"reason": ["Missing data for required field."], "items": {0: {"dok": ["x"]}}}))
    [('reason', 'Missing data for required field.'), ('items[0].dok', 'x')]
    """
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if key == "_schema":
                yield from flatten(value, prefix)
                continue
            part = f"[{key}]" if isinstance(key, int) else (f".{key}" if prefix else str(key))
            yield from flatten(value, f"{prefix}{part}")
    elif isinstance(messages, list):
        for message in messages:
            yield from flatten(message, prefix)
    else:
        yield prefix, str(messages)


def sentences(messages: Any) -> str:
    """Every message on one line: ``reason: Missing data for required field.; by: ...``.

    >>> sentences({"reason": ["Missing data for required field."]})
    'reason: Missing data for required field.'
    """
    return "; ".join(f"{path}: {text}" if path else text for path, text in flatten(messages))
