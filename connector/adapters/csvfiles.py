"""Stream CSV files row by row, turning every defect into a located rejection.

Exports from SIS and vendor tools arrive truncated, in Windows-1252, with BOMs,
NUL bytes and ragged rows. None of that may stop the rows that are fine, and
none of it may be silently dropped: each defect becomes a
:class:`~connector.errors.Rejection` naming file, row and field. Nothing here
reads a whole file into memory.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import IO
from zipfile import BadZipFile

from connector.domain.text import control_character, strip_controls
from connector.errors import Rejection

Opener = Callable[[], AbstractContextManager[IO[bytes]]]


#: What a spreadsheet runs as a formula when a cell starts with it (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def files_digest(files: Iterable[tuple[str, Opener]]) -> str:
    """SHA-256 over each file's name and bytes, in the order given.

    Lets a file source say "the same files as last time" for the price of reading
    them once, without parsing a row (hashing runs at several hundred MB/s).
    """
    digest = hashlib.sha256()
    for name, opener in files:
        digest.update(name.encode("utf-8") + b"\0")
        with opener() as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def safe_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading ``'`` before what would run as a formula.

    Competency statements come from CASE providers outside the district and names from
    vendors; ``=HYPERLINK(...)`` in either must not become a live cell in the registrar's
    spreadsheet. Numbers (``-1.5``) are left as they are.

    >>> safe_cell("=1+2"), safe_cell("-1.5"), safe_cell("@SUM(A1)"), safe_cell("ok")
    ("'=1+2", '-1.5', "'@SUM(A1)", 'ok')
    """
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


@dataclass(frozen=True)
class CsvRow:
    """One data row: its file, its 1-based row number (header is row 1), and its values."""

    file: str
    row: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "").strip()


class MissingColumns(Exception):
    """The header lacks columns the file cannot be read without."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.reason)
        self.rejection = rejection


def _bad_bytes(text: str) -> str | None:
    """The first undecodable byte (kept as a surrogate escape), as hex, or None."""
    for ch in text:
        if "\udc80" <= ch <= "\udcff":
            return f"0x{ord(ch) - 0xDC00:02X}"
    return None


def _delimiter_hint(header: Sequence[str], delimiter: str) -> str:
    """Say so when the header looks split by another delimiter (a tab or ';' export)."""
    if len(header) != 1:
        return ""
    for other, label in (("\t", "tabs"), (";", "semicolons"), ("|", "'|'"), (",", "commas")):
        if other != delimiter and other in header[0]:
            return f"; the file looks delimited by {label}, not {delimiter!r}"
    return ""


def read_rows(
    opener: Opener,
    name: str,
    *,
    required_columns: Sequence[str] = (),
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
    controls: str = "reject",
) -> Iterator[CsvRow | Rejection]:
    """Yield each row of ``name`` as a :class:`CsvRow`, or a :class:`Rejection` for a bad row.

    A value holding a control character (a NUL, say) rejects its row, or with
    ``controls="strip"`` loses the character. Raises :class:`MissingColumns` before
    any row when the header lacks a required column or names one twice.
    """
    with opener() as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")
        reader = csv.reader(text, strict=True, delimiter=delimiter)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            yield Rejection(name, 1, "", "file is empty: expected a header row")
            return
        except (csv.Error, BadZipFile, zlib.error, EOFError) as exc:
            yield Rejection(name, 1, "", f"header could not be read: {exc}")
            return
        bad = _bad_bytes(",".join(header))
        if bad:
            raise MissingColumns(Rejection(name, 1, "", f"header is not valid UTF-8 (byte {bad}); "
                                           "re-export the file as UTF-8"))
        twice = sorted({h for h in header if h and header.count(h) > 1})
        if twice:
            # Which of two 'score' columns is the score? Guessing would keep the wrong one.
            raise MissingColumns(Rejection(name, 1, twice[0], f"the header names column(s) "
                                           f"{twice} more than once; no row can be read "
                                           f"until the export has one column of each name"))
        missing = [c for c in required_columns if c not in header]
        if missing:
            if len(missing) == len(required_columns) and len(header) > 1:
                # No column it needs: perhaps no header at all, and the first row is a
                # student's data, which must not be copied into reports.
                found = (f"none of them is in the first row ({len(header)} columns); is the "
                         f"header row missing?")
            else:
                found = f"the header has {header}"
            raise MissingColumns(
                Rejection(name, 1, missing[0], f"required column(s) {missing} missing: {found}"
                          f"{_delimiter_hint(header, delimiter)}")
            )
        number = 1
        while True:
            number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Rejection(name, number, "", f"row could not be parsed as CSV: {exc}")
                if "end of data" in str(exc) or "EOF" in str(exc):
                    return
                continue
            except (BadZipFile, zlib.error, EOFError) as exc:
                yield Rejection(name, number, "",
                                f"file ends unexpectedly (truncated archive?): {exc}")
                return
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) > len(header) and not any(c.strip() for c in cells[len(header):]):
                cells = cells[: len(header)]  # a trailing comma, common in real exports
            if len(cells) != len(header):
                kind = "fewer" if len(cells) < len(header) else "more"
                yield Rejection(
                    name, number, "",
                    f"row has {len(cells)} fields, {kind} than the header's {len(header)} "
                    f"(truncated file or an unquoted comma?)",
                )
                continue
            values = dict(zip(header, cells, strict=True))
            for column, value in values.items():
                bad = _bad_bytes(value)
                if bad:
                    yield Rejection(
                        name, number, column,
                        f"value is not valid {encoding} (byte {bad}); re-export the file as "
                        f"UTF-8 or set the source's 'encoding'",
                    )
                    break
                control = control_character(value)
                if control and controls == "strip":
                    values[column] = strip_controls(value)
                elif control:
                    yield Rejection(name, number, column,
                                    f"value holds {control}; remove it in the source system")
                    break
            else:
                yield CsvRow(name, number, values)
