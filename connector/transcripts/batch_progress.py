"""How far a batch of working copies got, so that an interrupted one picks up where it was.

A registrar printing a graduating class of 600 should not start again from the first
student because the laptop went to sleep at the 400th. The batch keeps a small file in
its output folder: a first line naming what the batch is (the as-of day and the formats,
since transcripts for another day are other transcripts), then one SIS id per line,
appended once that student's files are in place; the file is removed when the batch
completes. A resumed batch skips those students; a batch for another day or other formats
starts over. Each file is written under a
temporary name and renamed, so a killed batch never leaves half a PDF behind.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import IO

PROGRESS_FILE = ".transcripts-progress"


class BatchProgress:
    """The students of this batch already written, and a way to record one more."""

    def __init__(self, out: Path, as_of: date, formats: Sequence[str], *, resume: bool):
        self.path = out / PROGRESS_FILE
        self.key = f"as-of {as_of.isoformat()} formats {','.join(sorted(formats))}"
        self.done: set[str] = set()
        #: Set when ``resume`` was asked for but the folder held another batch's progress.
        self.started_over = False
        lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.is_file() else []
        if resume and lines and lines[0] == self.key:
            self.done = {line for line in lines[1:] if line}
        else:
            self.started_over = resume and bool(lines)
            out.mkdir(parents=True, exist_ok=True)
            self.path.write_text(self.key + "\n", encoding="utf-8")
        self._handle: IO[str] | None = None

    def mark(self, sis_id: str) -> None:
        """Record that ``sis_id``'s files are all written (flushed, so a kill keeps it)."""
        if self._handle is None:
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed below)
        self._handle.write(sis_id + "\n")
        self._handle.flush()
        self.done.add(sis_id)

    def finish(self) -> None:
        """The batch is complete: nothing is left to resume, so the folder holds only files."""
        self.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def write_atomically(path: Path, content: bytes) -> None:
    """Write under a temporary name in the same folder, then rename over ``path``."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    os.replace(partial, path)
