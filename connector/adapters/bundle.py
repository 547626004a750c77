"""A bundle of CSV files: a directory or a zip archive, read one member at a time."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO

from connector.adapters.csvfiles import Opener, files_digest
from connector.errors import FatalSourceError


class Bundle:
    """Uniform access to files in a directory or at the root of a zip archive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            raise FatalSourceError(f"bundle not found: {path}", path=str(path))
        self._zip: zipfile.ZipFile | None = None
        if path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise FatalSourceError(
                    f"{path.name} is not a readable zip archive ({exc}); was the download cut short?",
                    path=str(path),
                ) from exc
            self._members = {Path(n).name: n for n in self._zip.namelist() if not n.endswith("/")}
        else:
            self._members = {p.name: str(p) for p in path.iterdir() if p.is_file()}

    def names(self) -> set[str]:
        return set(self._members)

    def has(self, name: str) -> bool:
        return name in self._members

    def opener(self, name: str) -> Opener:
        return lambda: self._open(name)

    @contextmanager
    def _open_cm(self, name: str) -> Iterator[IO[bytes]]:
        member = self._members[name]
        if self._zip is not None:
            with self._zip.open(member) as handle:
                yield handle
        else:
            with open(member, "rb") as handle:
                yield handle

    def _open(self, name: str) -> AbstractContextManager[IO[bytes]]:
        return self._open_cm(name)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def digest(self) -> str:
        """Every file's name and bytes, hashed: equal only when the bundle is the same."""
        return files_digest((name, self.opener(name)) for name in sorted(self._members))

    def describe(self) -> str:
        size = self.path.stat().st_size if self.path.is_file() else sum(
            Path(p).stat().st_size for p in self._members.values())
        return f"{self.path.name} ({len(self._members)} files, {size} bytes)"

