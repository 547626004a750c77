"""Parse cell values at the boundary; every failure names the field and the fix."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from connector.errors import DataError

#: A number as exports write one: ASCII digits, an optional sign, point and exponent.
#: Python's float() also reads Arabic-Indic or full-width digits, which no SIS means.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
#: Control characters no text field of a district's data holds: C0 but tab, line feed and
#: carriage return; DEL; C1. PostgreSQL refuses NUL outright; the others break CSVs and logs.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character(value: str) -> str | None:
    r"""Where ``value`` holds a control character, in words; None when it holds none.

    >>> control_character("Ana\x00Lopez")
    'a control character (U+0000, a NUL byte) at position 4'
    >>> control_character("two\nlines") is None
    True
    """
    found = _CONTROL.search(value)
    if found is None:
        return None
    char = found.group()
    label = f"U+{ord(char):04X}" + (", a NUL byte" if char == "\x00" else "")
    return f"a control character ({label}) at position {found.start() + 1}"


def check_text(value: str, field: str) -> str:
    """``value`` unchanged, or a :class:`DataError` naming the field and the character."""
    problem = control_character(value)
    if problem:
        raise DataError(f"'{field}' holds {problem}; remove it in the source system",
                        field=field)
    return value


#: The longest text any vendor's field gets: names, titles and statements are far shorter,
#: and a megabyte "name" is an attack, not a name.
MAX_TEXT = 10_000


def json_text_problem(value: Any, where: str, *, max_length: int = MAX_TEXT) -> str | None:
    r"""The first string in a decoded JSON document (keys too) that no field should hold.

    Names its property path: a control character, or text longer than ``max_length``.

    >>> json_text_problem({"actor": {"account": {"name": "a\x00b"}}}, "statement")
    'statement.actor.account.name holds a control character (U+0000, a NUL byte) at position 2'
    >>> json_text_problem({"name": ["ok", "x" * 20]}, "body", max_length=10)
    'body.name[1] is 20 characters long; at most 10 are accepted'
    """
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            problem = control_character(item)
            if problem:
                return f"{path} holds {problem}"
            if len(item) > max_length:
                return f"{path} is {len(item)} characters long; at most {max_length} are accepted"
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                problem = control_character(str(key))
                if problem:
                    return f"a property name in {path} holds {problem}"
                stack.append((child, f"{path}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{n}]") for n, child in reversed(list(enumerate(item))))
    return None


def strip_controls(value: str) -> str:
    """``value`` without its control characters (a district's ``strip`` text policy)."""
    return _CONTROL.sub("", value)


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
