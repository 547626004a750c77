"""Find adapters by the ``kind`` a district writes in its config.

Adapters are imported lazily so that a deployment using one LMS never imports
another's client, and an unknown kind fails with the list of known kinds.
"""

from __future__ import annotations

from importlib import import_module

from connector.adapters.base import DestinationAdapter, SourceAdapter
from connector.errors import ConfigurationError

SOURCES = {
    "oneroster_csv": "connector.adapters.sources.oneroster_csv:OneRosterCsvSource",
    "adaptive_csv": "connector.adapters.sources.adaptive_csv:AdaptiveCsvSource",
    "file_drop": "connector.adapters.sources.file_drop:FileDropSource",
    "learning_events": "connector.adapters.sources.learning_events:LearningEventsSource",
    "oneroster_rest": "connector.adapters.sources.oneroster_rest:OneRosterRestSource",
    "canvas": "connector.adapters.sources.canvas:CanvasSource",
    "google_classroom": "connector.adapters.sources.google_classroom:GoogleClassroomSource",
    "schoology": "connector.adapters.sources.schoology:SchoologySource",
}
DESTINATIONS = {
    "oneroster_csv_results": "connector.adapters.destinations.oneroster_csv:OneRosterCsvResults",
    "oneroster_rest": "connector.adapters.destinations.oneroster_rest:OneRosterRestDestination",
    "edfi": "connector.adapters.destinations.edfi:EdFiDestination",
}


def _load(table: dict[str, str], kind: str, what: str) -> type:
    try:
        target = table[kind]
    except KeyError:
        raise ConfigurationError(
            f"unknown {what} kind {kind!r}; known kinds: {sorted(table)}"
        ) from None
    module, _, name = target.partition(":")
    cls: type = getattr(import_module(module), name)
    return cls


def source_class(kind: str) -> type[SourceAdapter]:
    return _load(SOURCES, kind, "source")


def destination_class(kind: str) -> type[DestinationAdapter]:
    return _load(DESTINATIONS, kind, "destination")
