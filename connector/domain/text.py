"""Text no field of a district's data may hold: control characters and absurd lengths.

Pure functions, shared by every boundary (CSV readers, event intake, API bodies,
CASE packages) so that each names the same problem in the same words.
"""

from __future__ import annotations

import re
from typing import Any

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
