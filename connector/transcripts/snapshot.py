"""A transcript as JSON, and back: what an issued transcript freezes (pure).

Issuing keeps the exact records a transcript showed, not a pointer to records that
the next sync will change. The snapshot is plain JSON (dates as ISO strings), so it
reads the same on SQLite and PostgreSQL and can be handed to a records request as
it is; :func:`content_hash` is the SHA-256 of its canonical form (keys sorted, no
spaces), which is what "this transcript has not changed" is checked against.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import date
from typing import Any

from connector.transcripts.model import (
    CreditRow,
    DomainLevel,
    Letter,
    LevelMeaning,
    Requirement,
    SchoolInfo,
    StudentInfo,
    Summary,
    Transcript,
    TranscriptGroup,
    TranscriptRow,
    TranscriptSection,
)

#: Bumped when the snapshot's shape changes, so an old snapshot is never misread.
SNAPSHOT_VERSION = 1


def to_snapshot(transcript: Transcript) -> dict[str, Any]:
    """Every value the transcript shows, as JSON-ready data."""
    data = asdict(transcript)
    data["issued_on"] = transcript.issued_on.isoformat()
    for part in ("academic", "habits"):
        for section in data[part]:
            for group in section["groups"]:
                for row in group["rows"]:
                    row["achieved_on"] = row["achieved_on"].isoformat() if row["achieved_on"] else None
    # Through JSON once, so it is the same plain lists and dicts the store gives back.
    plain: dict[str, Any] = json.loads(canonical(
        {"snapshot_version": SNAPSHOT_VERSION, "transcript": data}))
    return plain


def from_snapshot(snapshot: dict[str, Any]) -> Transcript:
    """The transcript a snapshot froze, for rendering it again exactly as issued."""
    if snapshot.get("snapshot_version") != SNAPSHOT_VERSION:
        raise ValueError(f"unknown transcript snapshot version {snapshot.get('snapshot_version')!r}")
    t = snapshot["transcript"]
    letter = t["letter"]
    return Transcript(
        district_name=t["district_name"],
        student=StudentInfo(**t["student"]),
        issued_on=date.fromisoformat(t["issued_on"]),
        academic=_sections(t["academic"]),
        habits=_sections(t["habits"]),
        letter=Letter(**{
            **letter,
            "levels": tuple(LevelMeaning(**lv) for lv in letter["levels"]),
            "state_labels": tuple(tuple(pair) for pair in letter["state_labels"]),
            "method_sentences": tuple(letter["method_sentences"]),
            "gpa_translation": tuple(tuple(row) for row in letter["gpa_translation"]),
            "dok_levels": tuple(tuple(pair) for pair in letter.get("dok_levels", ())),
        }),
        summary=_summary(t.get("summary")),
    )


def _summary(data: dict[str, Any] | None) -> Summary | None:
    if data is None:
        return None
    return Summary(**{**data, "school": SchoolInfo(**data["school"]),
                      "domains": tuple(DomainLevel(**{**d, "reached": tuple(
                          tuple(pair) for pair in d.get("reached", ()))})
                          for d in data["domains"]),
                      "credits": tuple(CreditRow(**c) for c in data["credits"]),
                      "requirements": tuple(Requirement(**r)
                                            for r in data.get("requirements", ()))})


def _sections(items: list[dict[str, Any]]) -> tuple[TranscriptSection, ...]:
    return tuple(TranscriptSection(
        title=s["title"], kind=s["kind"],
        groups=tuple(TranscriptGroup(g["title"], tuple(
            TranscriptRow(**{**r, "achieved_on": date.fromisoformat(r["achieved_on"])
                             if r["achieved_on"] else None})
            for r in g["rows"]), g.get("level", ""), g.get("overridden", False))
            for g in s["groups"])) for s in items)


def canonical(data: Any) -> bytes:
    """The one byte string a JSON value hashes as: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def content_hash(snapshot: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(snapshot)).hexdigest()


def same_content(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two snapshots show the same records, whatever day each was dated.

    A draft rebuilt tomorrow from unchanged records is the same draft: its review
    stands. Only the date printed as "issued" differs, and issuing sets that anyway.
    """
    def undated(s: dict[str, Any]) -> dict[str, Any]:
        return {**s, "transcript": {**s["transcript"], "issued_on": None}}
    return canonical(undated(a)) == canonical(undated(b))


def dated(snapshot: dict[str, Any], day: date) -> dict[str, Any]:
    """The snapshot dated ``day``: the date an issued transcript prints."""
    return {**snapshot, "transcript": {**snapshot["transcript"], "issued_on": day.isoformat()}}
