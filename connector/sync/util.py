"""Small helpers the sync steps share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TypeVar

from connector.adapters.base import AdapterContext, EventReader
from connector.config.model import Settings
from connector.config.secrets import resolve_secret

T = TypeVar("T")

#: Keys per ``IN (...)`` clause: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 500


def chunks(values: Iterable[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def adapter_context(settings: Settings, events: EventReader | None = None,
                    links: Mapping[str, str] | None = None) -> AdapterContext:
    """What adapters learn about the district: paths, time zone, how to read secrets.

    Sources of posted learning events also get a reader for the events stored for them,
    and LMS sources the user ids linked to roster students from the identity queue.
    """
    context = AdapterContext(settings.resolve_path, settings.district.timezone,
                             lambda reference, purpose: resolve_secret(reference, purpose=purpose))
    if events is not None:
        context = replace(context, events=events)
    return context if not links else replace(context, identity_links=dict(links))
