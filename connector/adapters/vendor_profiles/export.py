"""One vendor export read row by row through its profile: the loop every reader shares.

The drop folder, the one-file ``adaptive_csv`` source and ``connector profiles
check`` all read an export the same way, so a row is accepted or rejected for
the same reason wherever it is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from connector.adapters.csvfiles import MissingColumns, read_rows
from connector.adapters.vendor_profiles.profile import VendorProfile, date_in_file_name, read_row
from connector.domain.records import Score, SourceItem
from connector.errors import DataError, Rejection


@dataclass(frozen=True)
class ExportRow:
    """A data row read as an item and a score (``row`` is 1-based, the header is row 1)."""

    row: int
    item: SourceItem
    score: Score


def read_export(profile: VendorProfile, path: Path, *, source: str,
                timezone: str) -> Iterator[ExportRow | Rejection | None]:
    """Every data row of ``path``: read, rejected with its reason, or None (a blank score).

    A rejection on row 1 means nothing in the file can be read (missing columns, no
    date in the name of a file dated by its name).
    """
    name = path.name
    file_date = None
    if profile.date_from_file_name:
        file_date = date_in_file_name(name, timezone)
        if file_date is None:
            yield Rejection(name, 1, "date", f"profile {profile.key!r} takes the date from the "
                            "file name (YYYYMMDD or YYYY-MM-DD), and this name has none")
            return
    try:
        for row in read_rows(lambda: open(path, "rb"), name,  # noqa: SIM115 - closed by read_rows
                             required_columns=profile.required_columns,
                             encoding=profile.encoding, delimiter=profile.delimiter):
            if isinstance(row, Rejection):
                yield row
                continue
            try:
                parsed = read_row(profile, row.values, source=source, timezone=timezone,
                                  file_date=file_date)
            except DataError as exc:
                yield Rejection(name, row.row, str(exc.context.get("field", "")), exc.message)
                continue
            yield None if parsed is None else ExportRow(row.row, *parsed)
    except MissingColumns as exc:
        yield exc.rejection
