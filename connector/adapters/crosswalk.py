"""The district's identity crosswalk: LMS ids that the LMS itself cannot tie to the SIS.

LMS adapters match students and classes by the SIS ids the LMS carries (Canvas
``sis_user_id``, Google email through the roster, Schoology ``school_uid``).
Where those are missing or wrong (a transfer student created by hand in the LMS,
a section merged in Canvas) the district lists the exception in one CSV:

    system,kind,external_id,sis_id
    canvas-district,user,4242,S100007
    canvas-district,class,1234,cls-crms-ma06

``system`` is the source key in sources.yaml; ``kind`` is ``user`` or
``class``. An entry wins over what the LMS says. Nothing is ever matched by name.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from connector.errors import ConfigurationError

COLUMNS = ("system", "kind", "external_id", "sis_id")
KINDS = ("user", "class")


@dataclass(frozen=True)
class Crosswalk:
    entries: dict[tuple[str, str], str] = field(default_factory=dict)

    def get(self, kind: str, external_id: object) -> str | None:
        return self.entries.get((kind, str(external_id)))


def load_crosswalk(path: Path | None, system: str) -> Crosswalk:
    """The entries for one source; a malformed file is a configuration error naming the row."""
    if path is None:
        return Crosswalk()
    if not path.is_file():
        raise ConfigurationError(f"crosswalk file not found: {path}")
    entries: dict[tuple[str, str], str] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigurationError(f"{path.name}: missing column(s) {', '.join(missing)}")
        for number, row in enumerate(reader, start=2):
            if (row.get("system") or "").strip() != system:
                continue
            kind = (row.get("kind") or "").strip()
            external, sis = (row.get("external_id") or "").strip(), (row.get("sis_id") or "").strip()
            if kind not in KINDS or not external or not sis:
                raise ConfigurationError(
                    f"{path.name} row {number}: kind must be one of {', '.join(KINDS)} and "
                    f"external_id and sis_id must be filled")
            if entries.setdefault((kind, external), sis) != sis:
                raise ConfigurationError(
                    f"{path.name} row {number}: {kind} {external} is mapped twice")
    return Crosswalk(entries)
