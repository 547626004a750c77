"""Parse cell values at the boundary; every failure names the field and the fix."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from connector.domain.text import control_character
from connector.errors import DataError

#: A number as exports write one: ASCII digits, an optional sign, point and exponent.
#: Python's float() also reads Arabic-Indic or full-width digits, which no SIS means.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
def check_text(value: str, field: str) -> str:
    """``value`` unchanged, or a :class:`DataError` naming the field and the character."""
    problem = control_character(value)
    if problem:
        raise DataError(f"'{field}' holds {problem}; remove it in the source system",
                        field=field)
    return value


def text(value: str) -> str:
    return value.strip()


def required(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise DataError(f"'{field}' is required", field=field)
    return value


def parse_float(value: str, field: str) -> float | None:
    """A number, or None for an empty cell; "N/A" or "85%" are rejected, not guessed."""
    value = value.strip()
    if not value:
        return None
    if not _NUMBER.fullmatch(value):
        raise DataError(f"'{field}' must be a number written with the digits 0-9: {value!r}",
                        field=field)
    try:
        number = float(value)
    except ValueError:
        raise DataError(f"'{field}' must be a number: {value!r}", field=field) from None
    if math.isnan(number) or math.isinf(number):
        raise DataError(f"'{field}' must be a finite number: {value!r}", field=field)
    return number


def parse_date(value: str, field: str) -> date | None:
    """An ISO date (YYYY-MM-DD) or None; other layouts are rejected, never guessed."""
    value = value.strip()
    if not value:
        return None
    head = value[:10] if len(value) > 10 and value[10] == "T" else value
    try:
        return date.fromisoformat(head)
    except ValueError:
        raise DataError(f"'{field}' must be a date as YYYY-MM-DD: {value!r}", field=field) from None


def parse_datetime(value: str, field: str, tz: str = "UTC", fmt: str | None = None) -> datetime | None:
    """A timezone-aware UTC datetime from ISO 8601 (or ``fmt``); dates become local midnight.

    Naive values are read in the district's time zone ``tz``: a score entered at 8 pm
    in Denver is still that day's evidence.
    """
    value = value.strip()
    if not value:
        return None
    zone = ZoneInfo(tz)
    try:
        if fmt:
            parsed = datetime.strptime(value, fmt)  # noqa: DTZ007 - zone attached below
        elif len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        layout = fmt or "ISO 8601 (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)"
        raise DataError(f"'{field}' must be a date/time as {layout}: {value!r}", field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def parse_bool(value: str, field: str) -> bool | None:
    value = value.strip().lower()
    if not value:
        return None
    if value in ("true", "false"):
        return value == "true"
    raise DataError(f"'{field}' must be true or false: {value!r}", field=field)


def split_list(value: str) -> tuple[str, ...]:
    """OneRoster multi-valued cells: comma-separated inside one quoted cell."""
    return tuple(part.strip() for part in value.split(",") if part.strip())
