"""Where vendor exports land, and where they go once read.

A drop folder has three parts: the inbox the vendor's scheduled export writes
to, ``archive/`` for files that were read (with a report of what was accepted
and rejected) and ``quarantine/`` for files that could not be read at all (a
wrong delimiter, missing columns), so an operator can fix the profile and drop
the file again. Files still being written are left alone until they settle.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class DropFile:
    path: Path
    size: int
    modified: float

    @property
    def name(self) -> str:
        return self.path.name


def content_sha256(path: Path) -> str:
    """The file's SHA-256, read in 1 MiB chunks: a re-uploaded copy has the same one."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class LocalInbox:
    """A directory on this machine (or a mounted share) that a vendor export lands in."""

    def __init__(self, inbox: Path, archive: Path, quarantine: Path, *, pattern: str,
                 settle_seconds: float) -> None:
        self.inbox, self.archive, self.quarantine = inbox, archive, quarantine
        self.pattern = pattern
        self.settle_seconds = settle_seconds

    def waiting(self) -> Iterator[DropFile]:
        """Settled files matching the pattern, oldest first (exports replay in order)."""
        if not self.inbox.is_dir():
            return iter(())
        now = time.time()
        found = []
        for entry in os.scandir(self.inbox):
            if not entry.is_file() or entry.name.startswith(".") or \
                    not fnmatchcase(entry.name.lower(), self.pattern.lower()):
                continue
            stat = entry.stat()
            if now - stat.st_mtime < self.settle_seconds:
                continue  # still being written, or just written: next run
            found.append(DropFile(Path(entry.path), stat.st_size, stat.st_mtime))
        return iter(sorted(found, key=lambda f: (f.modified, f.name)))

    def settle(self, file: DropFile, sha256: str, outcome: str, report: Mapping[str, Any]) -> Path:
        """Move the file to archive (read or duplicate) or quarantine, with its report beside it.

        The name keeps the time and the first hash digits, so two uploads of
        ``skills.csv`` never overwrite each other.
        """
        folder = self.quarantine if outcome == "quarantined" else self.archive
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = folder / f"{stamp}-{sha256[:12]}-{file.name}"  # the content hash's first digits
        report_path = target.with_name(target.name + ".report.json")
        tmp = report_path.with_name(report_path.name + ".tmp")
        tmp.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, report_path)
        shutil.move(str(file.path), target)
        return target
